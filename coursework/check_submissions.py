"""Grade a folder of submitted notebooks: PASS / FAIL / NOT DONE YET / TAMPERED per exercise.

    python -m coursework.check_submissions SUBMISSIONS_DIR [--timeout SECONDS] [--csv results.csv]

Every ``*.ipynb`` under SUBMISSIONS_DIR (sub-folders included, e.g. one per
student) is graded by :func:`coursework.grading.grade`: the notebook runs in
a sandbox, and every exercise's grade is computed here, by the teacher's
copy of its checker, on answers called in a second sandbox with hidden
cases drawn afresh for this run. Nothing the notebook writes is believed.

The result is one row per notebook, one column per exercise (book order, from
:data:`coursework.registry.EXERCISES`), a total and a note (timed out, kernel
died, cells that raised, refused files). It is printed and written as CSV.

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
from .protocol import FAIL, NOT_DONE, PASS, TAMPERED
from .registry import EXERCISES
from .sandbox import ROOT, ControlGroup, Limits, bwrap_works


# --------------------------------------------------------------------------- what goes in the table

def clean(text: str, limit: int = 300) -> str:
    """Text safe to print and to put in a CSV cell: no control characters, one line, bounded."""
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn") or category.startswith("Z") and ch != " ":
            out.append("?")
        else:
            out.append(ch)
    text = " ".join("".join(out).split())
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


def find_submissions(folder: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """The notebooks under ``folder`` and the entries refused (links, special files), never following a link."""
    found: list[tuple[Path, str]] = []
    refused: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder)
        keep = []
        for d in sorted(dirs):
            p = Path(root) / d
            if p.is_symlink():
                refused.append(f"{(rel_root / d).as_posix()}: a symbolic link, not followed")
            elif not d.startswith("."):
                keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            p = Path(root) / f
            rel = (rel_root / f).as_posix()
            if f.startswith(".") or not f.endswith(".ipynb"):
                continue
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode):
                refused.append(f"{rel}: a symbolic link, not followed")
            elif not stat.S_ISREG(mode):
                refused.append(f"{rel}: not a regular file")
            else:
                found.append((p, rel))
    return sorted(found, key=lambda item: item[1]), refused


def table_rows(results: list[Result], columns: list[str]) -> list[list[str]]:
    rows = []
    for r in results:
        statuses = [r.status(label) for label in columns]
        rows.append([clean(r.submission), *statuses, str(statuses.count(PASS)), clean("; ".join(r.notes), 1000)])
    return rows


def format_table(results: list[Result], columns: list[str]) -> str:
    header = ["submission", *columns, "total", "note"]
    rows = [[row[0], *row[1:-2], f"{row[-2]}/{len(columns)}", row[-1]] for row in table_rows(results, columns)]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = []
    for row in [header, *rows]:
        cells = [str(x).ljust(w) for x, w in zip(row[:-1], widths[:-1])] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def write_csv(path: Path, results: list[Result], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["submission", *columns, "total", "note"])
        w.writerows([[csv_cell(cell) for cell in row] for row in table_rows(results, columns)])


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
    parser.add_argument("--csv", type=Path,
                        help="CSV file to write (default: <SUBMISSIONS_DIR>-results.csv next to the folder)")
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
    parser.add_argument("--details", action="store_true", help="also print the checkers' detail of every FAIL")
    args = parser.parse_args(argv)

    folder = args.submissions.resolve()
    if not folder.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.timeout <= 0 or args.call_timeout <= 0 or args.jobs < 1 or args.max_procs < 1:
        parser.error("--timeout, --call-timeout, --jobs and --max-procs must be positive")
    try:
        columns = select_columns(args.exercises, list(EXERCISES))
    except ValueError as exc:
        parser.error(str(exc))
    csv_path = args.csv if args.csv is not None else folder.parent / f"{folder.name}-results.csv"

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
    submissions, refused = find_submissions(folder)
    for line in refused:
        print(f"refused: {clean(line)}", file=sys.stderr)
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
        r = Result(name, notes=["refused: " + line.split(": ", 1)[1]])
        results.append(r)

    results.sort(key=lambda r: r.submission)
    print(format_table(results, columns))
    if args.details:
        for r in results:
            for label in columns:
                verdict = r.verdicts.get(label)
                if verdict is not None and verdict.status in (FAIL, TAMPERED):
                    print(f"{clean(r.submission)}  {label}: {verdict.status} - {clean(verdict.detail)}")
    write_csv(csv_path, results, columns)
    print(f"wrote {csv_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "clean", "csv_cell", "find_submissions", "select_columns", "NOT_DONE"]
