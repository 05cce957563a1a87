"""Grade a folder of submitted notebooks: a gradebook row and a feedback file per student.

    python -m coursework.check_submissions SUBMISSIONS_DIR [--timeout S] [--cell-timeout S] [--out FOLDER]
           [--class-list students.csv] [--points points.csv] [--exercises 'ex-01-*'] [--details]
           [--sheet-only | --rerun-timed-out | --suggest-limits]

Every ``*.ipynb`` under SUBMISSIONS_DIR (sub-folders included, e.g. one per
student) is graded by :func:`coursework.grading.grade`: the notebook runs in
a sandbox, and every exercise's grade is computed here, by the teacher's
copy of its checker, on answers called in a second sandbox with hidden
cases drawn afresh for this run. Nothing the notebook writes is believed.

The result (see :mod:`coursework.sheet`) is printed as one row per student
and one column per exercise (book order, written exercises included), and
written into the output folder: ``gradebook.csv`` (points per exercise and
chapter, totals, notes), ``notebooks.csv`` (every notebook's statuses and
details), a feedback file per student, ``results.json`` (the run's record)
and, for the written exercises, a marking page per student and the marks
sheet (see :mod:`coursework.written`). ``--sheet-only`` writes all of it
again from ``results.json`` and the marks, running nothing;
``--rerun-timed-out`` runs only the notebooks that timed out;
``--suggest-limits`` times the teacher's notebooks instead of grading.

The output folder is ``<SUBMISSIONS_DIR>-results`` beside the submissions,
or, when the submissions lie inside this repository,
``_build/grading/<name>`` (ignored by git), so that student data is never
committed by accident.

Bubblewrap is required: without it the run stops, unless ``--sandbox none``
asks explicitly to run the notebooks as yourself (they can then read and
change any file you can). Symbolic links and special files in the folder are
refused with a note, never followed. Names and notes are cleaned of terminal
control characters, and CSV cells that a spreadsheet would read as a formula
are quoted. See the teacher's guide (chapters/teaching.md).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import fnmatch
import io
import os
import stat
import sys
import threading
import unicodedata
from pathlib import Path

from .grading import Options, Result, grade
from .protocol import NOT_DONE, PASS, UNREADABLE
from .sandbox import ROOT, ControlGroup, Limits, bwrap_works
from .sheet import (Scheme, Student, feedback, gradebook_rows, read_class_list, read_points, read_record, record,
                    safe_file_name, students)
from .written import MARKS_FILE, Written, collect, exercise_order, exercise_titles, marking_page, marks_rows, \
    read_marks, written_exercises

RECORD = "results.json"   # the run's record: what --sheet-only and --rerun-timed-out start from


# --------------------------------------------------------------------------- what goes in the table

def clean(text: str, limit: int = 300, spacing: bool = False) -> str:
    """Text safe to print and to put in a CSV cell: no control characters, one line, bounded.

    ``spacing=True`` keeps runs of spaces (the columns of a printed array) instead of joining them.
    """
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn") or category.startswith("Z") and ch != " ":
            out.append("?")
        else:
            out.append(ch)
    text = "".join(out).rstrip() if spacing else " ".join("".join(out).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would start a formula."""
    text = clean(text, limit=10_000)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def select_columns(spec: str | None, known: list[str]) -> list[str]:
    """The exercise columns: comma-separated labels or glob patterns (``ex-01-*``); all by default.

    A label or pattern that matches no exercise is an error (ValueError).
    """
    if not spec:
        return list(known)
    columns: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        matches = [label for label in known if fnmatch.fnmatchcase(label, item)]
        if not matches:
            raise ValueError(f"--exercises: {item!r} matches no exercise (they are named like ex-01-neuron-forward)")
        columns += [m for m in matches if m not in columns]
    return columns


def find_submissions(folder: Path) -> tuple[list[tuple[Path, str]], list[str], list[str]]:
    """The notebooks under ``folder``, the entries refused (links, special files, never followed) and
    those skipped (files that are not notebooks, hidden files and folders, Jupyter's checkpoints)."""
    found: list[tuple[Path, str]] = []
    refused: list[str] = []
    skipped: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        keep = []
        for d in sorted(dirs):
            p = Path(root) / d
            if p.is_symlink():
                refused.append(f"{(rel_root / d).as_posix()}: a symbolic link, not followed")
            elif d.startswith("."):
                skipped.append(f"{(rel_root / d).as_posix()}/ (hidden)")
            else:
                keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            p = Path(root) / f
            rel = (rel_root / f).as_posix()
            if f.startswith("."):
                skipped.append(f"{rel} (hidden)")
                continue
            if not f.endswith(".ipynb"):
                skipped.append(rel)
                continue
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode):
                refused.append(f"{rel}: a symbolic link, not followed")
            elif not stat.S_ISREG(mode):
                refused.append(f"{rel}: not a regular file")
            else:
                found.append((p, rel))
    return sorted(found, key=lambda item: item[1]), refused, skipped


def notebook_rows(class_: list[Student], columns: list[str], scheme: Scheme) -> list[list[str]]:
    """notebooks.csv: one row per notebook, status and detail of every exercise (a written one: its answer), notes."""
    results = sorted(((r, s.id) for s in class_ for r in s.notebooks), key=lambda item: item[0].submission)
    header = ["submission", "student_id"]
    for label in columns:
        header += [label, f"{label} detail"]
    rows = [header + ["notes"]]
    for r, student_id in results:
        row = [clean(r.submission), clean(student_id)]
        for label in columns:
            if label in scheme.written:
                answer = r.written.get(label)
                status = "" if answer is None else "ANSWERED" if answer else "NO ANSWER"
                row += [UNREADABLE if r.unreadable else status, clean(answer or "", 2000)]
                continue
            verdict = r.verdicts.get(label)
            row += [r.status(label), clean(" | ".join([verdict.detail, *verdict.hints]), 2000) if verdict else ""]
        rows.append(row + [clean("; ".join(r.notes), 1000)])
    return rows


def format_table(class_: list[Student], columns: list[str], scheme: Scheme) -> str:
    """The printed sheet: one row per student, each exercise's status (the best of the student's notebooks)."""
    book = gradebook_rows(class_, columns, scheme)
    header = ["student", *columns, "total", "notes"]
    rows = []
    for s, line in zip(class_, book[1:]):
        statuses = [scheme.status(s, label) for label in columns]
        rows.append([clean(s.id), *statuses, f"{line[-3]}/{line[-2]}", clean(line[-1], 200)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = []
    for row in [header, *rows]:
        cells = [str(x).ljust(w) for x, w in zip(row[:-1], widths[:-1])] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, rows: list[list[str]]) -> None:
    path.write_bytes(_csv_text([[csv_cell(str(cell)) for cell in row] for row in rows]).encode("utf-8"))


def output_folder(folder: Path, chosen: Path | None) -> Path:
    """Where the results go: the folder asked for, else beside the submissions, never into the repository."""
    if chosen is not None:
        return chosen.resolve()
    beside = folder.parent / f"{folder.name}-results"
    if beside.resolve().is_relative_to(ROOT) and not beside.resolve().is_relative_to(ROOT / "_build"):
        return ROOT / "_build" / "grading" / folder.name
    return beside


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursework.check_submissions",
        description="Grade submitted notebooks: each exercise's answers are called in a sandbox and judged here.")
    parser.add_argument("submissions", type=Path, help="folder of submitted .ipynb files (searched recursively)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds for a notebook's cells together (default 300)")
    parser.add_argument("--cell-timeout", type=float, default=60.0,
                        help="seconds for one cell (default 60): a cell past it is interrupted and the run goes on, "
                             "so that an endless loop costs one cell's time, not the exercises after it")
    parser.add_argument("--call-timeout", type=float, default=20.0,
                        help="seconds for one call of an answer by a checker (default 20)")
    parser.add_argument("--out", type=Path,
                        help="folder for gradebook.csv, notebooks.csv and feedback/ (default: <SUBMISSIONS_DIR>-results "
                             "beside the folder; _build/grading/<name> for a folder inside this repository)")
    parser.add_argument("--class-list", type=Path,
                        help="CSV with an id column (and a name column), or one student ID per line: adds the "
                             "students who handed in nothing")
    parser.add_argument("--points", type=Path, help="CSV of label,points (default: 1 point per exercise)")
    parser.add_argument("--exercises", metavar="LIST",
                        help="comma-separated exercise labels or patterns, e.g. 'ex-01-*,ex-02-*' (default: all)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="notebooks graded at the same time (default 1)")
    parser.add_argument("--sandbox", choices=("bwrap", "none"), default="bwrap",
                        help="bwrap: run every notebook in bubblewrap (default; the run stops if it does not "
                             "work); none: run them as yourself, unsandboxed")
    parser.add_argument("--memory-mb", type=int, default=4096,
                        help="memory of a notebook's processes together, MiB (default 4096; 0: none)")
    parser.add_argument("--max-procs", type=int, default=256,
                        help="processes a notebook may run at the same time (default 256)")
    parser.add_argument("--max-file-mb", type=int, default=256, help="largest file a notebook may write, MiB")
    parser.add_argument("--support", type=Path, action="append",
                        help="file or folder copied next to each notebook (default: chapters/images); repeatable")
    parser.add_argument("--details", action="store_true",
                        help="also print the detail and every hint of each verdict that is not PASS")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--sheet-only", action="store_true",
                       help="run no notebook: write the sheet again from the last run's results.json (after "
                            "marking the written answers, or with another class list or points)")
    again.add_argument("--suggest-limits", action="store_true",
                       help="SUBMISSIONS_DIR holds the teacher's notebooks (chapters/, say): run each once, --jobs "
                            "at a time as in the class run, and suggest --timeout and --cell-timeout; grade nothing")
    again.add_argument("--rerun-timed-out", action="store_true",
                       help="run again only the notebooks that timed out in the last run (give a longer --timeout); "
                            "keep the other results")
    args = parser.parse_args(argv)

    folder = args.submissions.resolve()
    if not folder.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if min(args.timeout, args.cell_timeout, args.call_timeout) <= 0 or args.jobs < 1 or args.max_procs < 1:
        parser.error("--timeout, --cell-timeout, --call-timeout, --jobs and --max-procs must be positive")
    out = output_folder(folder, args.out)
    if out.is_relative_to(folder):
        parser.error("--out must not be inside the submissions folder")
    previous: list[Result] = []
    try:
        columns = select_columns(args.exercises, exercise_order())
        class_list = read_class_list(args.class_list) if args.class_list else None
        points = read_points(args.points) if args.points else {}
        written_all = written_exercises()
        statements = {label: w.statement for label, w in written_all.items()}
        scheme = Scheme(points, {label: w for label, w in written_all.items() if label in columns},
                        titles=exercise_titles())
        if (out / MARKS_FILE).is_file():
            scheme.marks = read_marks(out / MARKS_FILE, written_all)
        if args.sheet_only or args.rerun_timed_out:
            if not (out / RECORD).is_file():
                raise ValueError(f"{out / RECORD} does not exist: run the class checker once without "
                                 f"{'--sheet-only' if args.sheet_only else '--rerun-timed-out'} first")
            previous = read_record(out / RECORD)
    except (ValueError, OSError) as exc:   # a file of the teacher's: the message alone, not the usage
        print(f"check_submissions: {exc}", file=sys.stderr)
        return 2
    if args.sheet_only:
        # The written answers are read again (nothing runs for that): an answer changed since counts.
        for r in previous:
            path = folder / r.submission
            if not r.unreadable and path.is_file() and not path.is_symlink():
                r.written = collect(path, list(written_all), statements)
        write_sheet(out, previous, class_list, columns, scheme, written_all, args.details)
        return 0
    cores = os.cpu_count() or 1
    if args.jobs > cores:
        print(f"warning: --jobs {args.jobs} on {cores} cores: notebooks share the cores and run slower, so they "
              f"may time out; use --jobs {cores} or a longer --timeout", file=sys.stderr)

    if args.sandbox == "bwrap":
        ok, why = bwrap_works()
        if not ok:
            print(f"check_submissions: {why}.\nThe notebooks are not run without a sandbox unless you ask for it "
                  "with --sandbox none (they can then read and change any file you can).", file=sys.stderr)
            return 2
    else:
        print("warning: --sandbox none: the notebooks run as you, without a file-system sandbox: they can read "
              "and change any file you can (see chapters/teaching.md)", file=sys.stderr)

    if args.suggest_limits:   # the teacher's notebooks: time them, with room to spare
        args.timeout = args.cell_timeout = max(args.timeout, 1800.0)
    support = args.support if args.support is not None else [p for p in [ROOT / "chapters" / "images"] if p.exists()]
    limits = Limits(memory_mb=args.memory_mb, max_procs=args.max_procs, max_file_mb=args.max_file_mb,
                    cpu_seconds=args.timeout * 2 + 120)
    probe = ControlGroup(limits)
    if not probe and hasattr(os, "getuid") and os.getuid() == 0:
        print("warning: no control group can be made here and you run as root: the number of a notebook's "
              "processes cannot be limited (a fork storm is stopped only by the time limit)", file=sys.stderr)
    probe.remove()
    opts = Options(timeout=args.timeout, cell_timeout=args.cell_timeout, call_timeout=args.call_timeout, limits=limits,
                   bwrap=args.sandbox == "bwrap", support=[p.resolve() for p in support], hide=[folder])
    submissions, refused, skipped = find_submissions(folder)
    kept: list[Result] = []
    if args.rerun_timed_out:
        timed_out = {r.submission for r in previous if r.timed_out}
        kept = [r for r in previous if r.submission not in timed_out]
        submissions = [(path, name) for path, name in submissions if name in timed_out]
        refused = skipped = []   # the last run's rows of refused entries are kept
        print(f"re-running the {len(submissions)} notebook(s) that timed out or had a cell interrupted; the "
              f"results of {len(kept)} other(s) are kept from {out / RECORD}", file=sys.stderr)
    for line in refused:
        print(f"refused: {clean(line)}", file=sys.stderr)
    if skipped:
        print(f"skipped {len(skipped)} file(s) that are not notebooks to grade: "
              + ", ".join(clean(x) for x in sorted(skipped)[:20]) + (" ..." if len(skipped) > 20 else ""), file=sys.stderr)
    if not submissions and not args.rerun_timed_out:
        print(f"no .ipynb files under {args.submissions}", file=sys.stderr)
        return 1

    mode = "bubblewrap sandbox" if opts.bwrap else "NO sandbox"
    print(f"Checking {len(submissions)} notebook(s), {args.timeout:g} s each and {args.cell_timeout:g} s a cell at "
          f"most, {mode}, {args.jobs} at a time", file=sys.stderr)
    results: list[Result] = []
    lock = threading.Lock()

    def run(item: tuple[Path, str]) -> Result:
        path, name = item
        r = grade(path, name, opts, columns)
        if not r.unreadable:
            r.written = collect(path, list(written_all), statements)
        with lock:
            results.append(r)
            passed = sum(v.status == PASS for v in r.verdicts.values())
            note = f"  ({clean('; '.join(r.notes))})" if r.notes else ""
            print(f"[{len(results)}/{len(submissions)}] {clean(name)}: {passed} PASS, {r.seconds:.1f} s{note}",
                  file=sys.stderr, flush=True)
        return r

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        list(pool.map(run, submissions))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        print("interrupted", file=sys.stderr)
        return 130
    pool.shutdown()
    for line in refused:   # a row for every refused entry, so that the table shows it
        name = line.split(": ", 1)[0]
        results.append(Result(name, notes=["refused: " + line.split(": ", 1)[1]]))
    if args.suggest_limits:
        print(suggest_limits(results, args.jobs))
        return 0
    for name in skipped:   # a student's file that is not a notebook shows in that student's row
        if "/" in name and not name.endswith("(hidden)"):
            results.append(Result(name, notes=["not a notebook, not graded"]))
    write_sheet(out, kept + results, class_list, columns, scheme, written_all, args.details)
    return 0


def _round_up(seconds: float, step: int = 10) -> int:
    return int(-(-seconds // step) * step)


def suggest_limits(results: list[Result], jobs: int) -> str:
    """Per notebook, how long the teacher's run took and its slowest cell; limits with room for slower machines."""
    lines = ["notebook  seconds  slowest cell"]
    for r in sorted(results, key=lambda r: r.submission):
        cell, slow = r.slowest or (0, 0.0)
        lines.append(f"{clean(r.submission)}  {r.seconds:.1f}  cell {cell}: {slow:.1f} s"
                     + (f"  ({clean('; '.join(r.notes))})" if r.notes else ""))
    total = max((r.seconds for r in results), default=0.0)
    slowest = max(((r.slowest or (0, 0.0))[1] for r in results), default=0.0)
    timeout, cell_timeout = max(60, _round_up(3 * total)), max(30, _round_up(3 * slowest))
    lines.append(f"suggested, for --jobs {jobs}: --timeout {timeout} --cell-timeout {cell_timeout} "
                 "(three times the slowest notebook and the slowest cell of this run)")
    return "\n".join(lines)


def write_sheet(out: Path, results: list[Result], class_list: list[tuple[str, str]] | None, columns: list[str],
                scheme: Scheme, written_all: dict[str, Written], details: bool) -> None:
    """Print the sheet and write the output folder (see the module's docstring)."""
    results = sorted(results, key=lambda r: r.submission)
    class_ = students(results, class_list)
    print(format_table(class_, columns, scheme))
    if details:
        for s in class_:
            for label in columns:
                verdict = s.verdict(label) if label not in scheme.written else None
                if verdict is not None and verdict.status != PASS:
                    print(f"{clean(s.id)}  {label}: {verdict.status} - {clean(verdict.detail)}")
                    for line in "\n".join(verdict.hints).splitlines():
                        print("    " + clean(line, 500, spacing=True))
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    (out / RECORD).write_text(record(results), encoding="utf-8")
    write_csv(out / "gradebook.csv", gradebook_rows(class_, columns, scheme))
    write_csv(out / "notebooks.csv", notebook_rows(class_, columns, scheme))
    files = {}
    for s in class_:
        name = safe_file_name(s.id)
        while name in files.values():
            name += "_"
        files[s.id] = name
        (out / "feedback" / f"{name}.md").write_text(feedback(s, columns, scheme), encoding="utf-8")
    wrote = "gradebook.csv, notebooks.csv, feedback/"
    labels = [label for label in columns if label in scheme.written]
    if labels:
        (out / "written").mkdir(exist_ok=True)
        wanted = []
        for s in class_:
            answers = {label: s.answer(label) for label in labels}
            wanted += [(s.id, label) for label in labels if answers[label]]   # an answer to mark
            if any(a is not None for a in answers.values()):
                page = marking_page(s.id, s.name, labels, scheme.written, answers, scheme.marks)
                (out / "written" / f"{files[s.id]}.md").write_text(page, encoding="utf-8")
        rows = marks_rows(wanted, written_all, scheme.marks)
        # The student IDs come from folder names: made safe for a spreadsheet. The rest is the teacher's.
        text = _csv_text([[csv_cell(row[0]) if i else row[0], *row[1:]] for i, row in enumerate(rows)])
        marks_file = out / MARKS_FILE
        if not marks_file.is_file() or marks_file.read_bytes() != text.encode("utf-8"):
            marks_file.write_bytes(text.encode("utf-8"))
        wrote += f", written/ and {MARKS_FILE}"
    print(f"wrote {out}: {wrote} ({len(class_)} students)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "clean", "csv_cell", "find_submissions", "select_columns", "NOT_DONE", "Student"]
