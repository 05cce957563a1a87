"""Grade a folder of submitted notebooks: a gradebook row and a feedback file per student.

    python -m coursework.check_submissions SUBMISSIONS_DIR [--timeout SECONDS] [--out FOLDER]
           [--class-list students.csv] [--points points.csv] [--exercises 'ex-01-*'] [--details]

Every ``*.ipynb`` under SUBMISSIONS_DIR (sub-folders included, e.g. one per
student) is graded by :func:`coursework.grading.grade`: the notebook runs in
a sandbox, and every exercise's grade is computed here, by the teacher's
copy of its checker, on answers called in a second sandbox with hidden
cases drawn afresh for this run. Nothing the notebook writes is believed.

The result (see :mod:`coursework.sheet`) is printed as one row per student
and one column per exercise (book order, from
:data:`coursework.registry.EXERCISES`), and written into the output folder:
``gradebook.csv`` (points per exercise and chapter, totals, notes),
``notebooks.csv`` (every notebook's statuses and details) and a feedback
file per student. The output folder is ``<SUBMISSIONS_DIR>-results`` beside
the submissions, or, when the submissions lie inside this repository,
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
import os
import stat
import sys
import threading
import unicodedata
from pathlib import Path

from .grading import Options, Result, grade
from .protocol import NOT_DONE, PASS
from .registry import EXERCISES
from .sheet import (Student, feedback, gradebook_rows, read_class_list, read_points, safe_file_name, students)
from .sandbox import ROOT, ControlGroup, Limits, bwrap_works


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


def notebook_rows(class_: list[Student], columns: list[str]) -> list[list[str]]:
    """notebooks.csv: one row per notebook, status and detail of every exercise, notes."""
    results = sorted(((r, s.id) for s in class_ for r in s.notebooks), key=lambda item: item[0].submission)
    header = ["submission", "student_id"]
    for label in columns:
        header += [label, f"{label} detail"]
    rows = [header + ["notes"]]
    for r, student_id in results:
        row = [clean(r.submission), clean(student_id)]
        for label in columns:
            verdict = r.verdicts.get(label)
            row += [r.status(label), clean(" | ".join([verdict.detail, *verdict.hints]), 2000) if verdict else ""]
        rows.append(row + [clean("; ".join(r.notes), 1000)])
    return rows


def format_table(class_: list[Student], columns: list[str], points: dict[str, float]) -> str:
    """The printed sheet: one row per student, each exercise's status (the best of the student's notebooks)."""
    book = gradebook_rows(class_, columns, points)
    header = ["student", *columns, "total", "notes"]
    rows = []
    for s, line in zip(class_, book[1:]):
        statuses = []
        for label in columns:
            v = s.verdict(label)
            statuses.append(v.status if v is not None else "-")
        rows.append([clean(s.id), *statuses, f"{line[-3]}/{line[-2]}", clean(line[-1], 200)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = []
    for row in [header, *rows]:
        cells = [str(x).ljust(w) for x, w in zip(row[:-1], widths[:-1])] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([[csv_cell(str(cell)) for cell in row] for row in rows])


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
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds for a notebook's cells (default 120)")
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
    args = parser.parse_args(argv)

    folder = args.submissions.resolve()
    if not folder.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.timeout <= 0 or args.call_timeout <= 0 or args.jobs < 1 or args.max_procs < 1:
        parser.error("--timeout, --call-timeout, --jobs and --max-procs must be positive")
    try:
        columns = select_columns(args.exercises, list(EXERCISES))
        class_list = read_class_list(args.class_list) if args.class_list else None
        points = read_points(args.points) if args.points else {}
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    out = output_folder(folder, args.out)
    if out.is_relative_to(folder):
        parser.error("--out must not be inside the submissions folder")
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

    support = args.support if args.support is not None else [p for p in [ROOT / "chapters" / "images"] if p.exists()]
    limits = Limits(memory_mb=args.memory_mb, max_procs=args.max_procs, max_file_mb=args.max_file_mb,
                    cpu_seconds=args.timeout * 2 + 120)
    probe = ControlGroup(limits)
    if not probe and hasattr(os, "getuid") and os.getuid() == 0:
        print("warning: no control group can be made here and you run as root: the number of a notebook's "
              "processes cannot be limited (a fork storm is stopped only by the time limit)", file=sys.stderr)
    probe.remove()
    opts = Options(timeout=args.timeout, call_timeout=args.call_timeout, limits=limits,
                   bwrap=args.sandbox == "bwrap", support=[p.resolve() for p in support], hide=[folder])
    submissions, refused, skipped = find_submissions(folder)
    for line in refused:
        print(f"refused: {clean(line)}", file=sys.stderr)
    if skipped:
        print(f"skipped {len(skipped)} file(s) that are not notebooks to grade: "
              + ", ".join(clean(x) for x in sorted(skipped)[:20]) + (" ..." if len(skipped) > 20 else ""), file=sys.stderr)
    if not submissions:
        print(f"no .ipynb files under {args.submissions}", file=sys.stderr)
        return 1

    mode = "bubblewrap sandbox" if opts.bwrap else "NO sandbox"
    print(f"Checking {len(submissions)} notebook(s), {args.timeout:g} s each at most, {mode}, "
          f"{args.jobs} at a time", file=sys.stderr)
    results: list[Result] = []
    lock = threading.Lock()

    def run(item: tuple[Path, str]) -> Result:
        path, name = item
        r = grade(path, name, opts, columns)
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

    results.sort(key=lambda r: r.submission)
    class_ = students(results, class_list)
    print(format_table(class_, columns, points))
    if args.details:
        for s in class_:
            for label in columns:
                verdict = s.verdict(label)
                if verdict is not None and verdict.status != PASS:
                    print(f"{clean(s.id)}  {label}: {verdict.status} - {clean(verdict.detail)}")
                    for line in "\n".join(verdict.hints).splitlines():
                        print("    " + clean(line, 500, spacing=True))
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    write_csv(out / "gradebook.csv", gradebook_rows(class_, columns, points))
    write_csv(out / "notebooks.csv", notebook_rows(class_, columns))
    names: set[str] = set()
    for s in class_:
        name = safe_file_name(s.id)
        while name in names:
            name += "_"
        names.add(name)
        (out / "feedback" / f"{name}.md").write_text(feedback(s, columns, points), encoding="utf-8")
    print(f"wrote {out}/gradebook.csv, notebooks.csv and feedback/ ({len(class_)} students)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "clean", "csv_cell", "find_submissions", "select_columns", "NOT_DONE", "Student"]
