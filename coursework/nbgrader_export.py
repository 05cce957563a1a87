"""Write the chapters as an nbgrader course: one assignment per chapter, solutions marked nbgrader's way.

    python -m coursework.nbgrader_export OUTDIR                  # every chapter
    python -m coursework.nbgrader_export OUTDIR --only 1,2       # chapters 1 and 2 (ch01, ch02)
    python -m coursework.nbgrader_export OUTDIR --points points.csv --cell-timeout 60

OUTDIR becomes an nbgrader course folder (https://nbgrader.readthedocs.io):

* ``nbgrader_config.py``: the stubs nbgrader puts in place of the solutions
  (the book's: ``raise NotImplementedError("write your solution here")`` and
  "*Write your answer here.*"), the time limit of one cell when autograding;
* ``source/chNN/<chapter>.ipynb``: the instructor notebook, converted from
  ``chapters/`` (the student edition's conversion, :func:`coursework.student_edition.student_notebook`,
  with the solutions put back between nbgrader's markers):

  - each coding exercise's solution cell is an nbgrader *solution* cell (grade_id = the label):
    the signature and docstring, then the body between ``### BEGIN SOLUTION`` and
    ``### END SOLUTION``, so that nbgrader's release shows exactly the book's stub;
  - each check cell is an *autograded test* cell (``test-<label>``, points from ``--points``,
    1 by default): the book's check, then :func:`coursework.nbgrader_tests.assert_pass`, which
    raises unless the check says PASS, and, between ``### BEGIN HIDDEN TESTS`` and
    ``### END HIDDEN TESTS``, the same check on hidden cases drawn afresh for grading;
  - each written exercise is a *manually graded answer* (``answer-<label>``, points = the marks
    of its rubric): the model answer and the rubric in the teacher's copy, "*Write your
    answer here.*" in the student's;
  - solution cells marked ``extra`` (the library's own code, shown after solving) are left out;
  - every other cell is *read-only* (``cell-<id>``): nbgrader puts its text back before grading;
  - the exercise directives are plain headings, as in the student edition;
* ``source/chNN/``: what the notebook needs to run (``nnlib``, the checkers of
  ``coursework`` and ``nbgrader_tests``, the chapter folders such as ``images/``);
  nbgrader releases them with the notebook and puts its own copies back before autograding;
* ``README.md``: how to import it, for the teacher.

Everything is generated from the chapters; edit those and export again. An
export replaces the ``source/`` assignments it writes, its config and README,
and leaves nbgrader's own files (gradebook.db, release/, submitted/,
autograded/, feedback/) alone.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .registry import EXERCISES
from .sheet import read_points
from .student_edition import (ANSWER_PLACEHOLDER, CHAPTERS, STUDENT_MODULES, ExerciseFormatError, _book_title,
                              _copy_dirs, _nnlib, _stub, chapter_number, find_directive, select_chapters,
                              student_notebook, tags)

#: The stub nbgrader writes in place of a code solution region, indented as the region's BEGIN line.
CODE_STUB = 'raise NotImplementedError("write your solution here")'
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
DEFAULT_POINTS = 1.0
DEFAULT_CELL_TIMEOUT = 60
SCHEMA_VERSION = 3
MARKER = ".nbgrader-export"
#: What the test cells import, besides the modules the student edition hands out.
EXTRA_MODULES = ("nbgrader_tests.py",)


@dataclass
class Assignment:
    """What was written for one chapter."""

    name: str                                      # ch01
    notebook: str                                  # 01_neurons.ipynb
    coding: dict[str, float] = field(default_factory=dict)    # label -> points of its test cell
    written: dict[str, float] = field(default_factory=dict)   # label -> points (rubric marks)
    read_only: int = 0


def assignment_name(path: Path) -> str:
    """ch01 for chapters/01_neurons.ipynb."""
    return f"ch{int(chapter_number(path)):02d}"


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _points(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def mark_solution(solution: str, stub: str, where: str = "solution") -> str:
    """The solution with each body the stub leaves out between BEGIN/END SOLUTION markers.

    The stub is the solution's text with each body replaced by one line ``raise
    NotImplementedError("write your solution here")``; nbgrader, replacing each marked
    region by that line at the marker's indentation, gives back the stub exactly.
    """
    stub_lines = stub.rstrip("\n").split("\n")
    sol_lines = solution.rstrip("\n").split("\n")
    holes = [i for i, line in enumerate(stub_lines) if line.strip() == CODE_STUB]
    if not holes:
        raise ExerciseFormatError(f"{where}: the stub has no line {CODE_STUB}")
    segments, start = [], 0
    for i in holes:
        segments.append(stub_lines[start:i])
        start = i + 1
    segments.append(stub_lines[start:])
    indents = [re.match(r"\s*", stub_lines[i]).group(0) for i in holes]

    def fail(what: str) -> ExerciseFormatError:
        return ExerciseFormatError(f"{where}: the solution does not follow its stub ({what}); the stub must be "
                                   "the solution with each body replaced by " + CODE_STUB)

    if sol_lines[:len(segments[0])] != segments[0]:
        raise fail("the signature and docstring differ")
    out = list(segments[0])
    pos = len(segments[0])
    for k, indent in enumerate(indents):
        seg = segments[k + 1]
        if k + 1 == len(indents):   # the last segment ends the solution
            end = len(sol_lines) - len(seg)
            if end < pos or sol_lines[end:] != seg:
                raise fail("the code after the last body differs")
        else:
            end = next((j for j in range(pos, len(sol_lines) - len(seg) + 1) if sol_lines[j:j + len(seg)] == seg),
                       None)
            if end is None:
                raise fail(f"the text between bodies {k + 1} and {k + 2} is not found")
        body = sol_lines[pos:end]
        if not any(line.strip() for line in body):
            raise fail(f"body {k + 1} is empty")
        out += [indent + BEGIN_SOLUTION, *body, indent + END_SOLUTION, *seg]
        pos = end + len(seg)
    marked = "\n".join(out)
    if release_of(marked) != "\n".join(stub_lines):   # what nbgrader will hand out
        raise fail("the marked solution does not give back the stub")
    return marked


def release_of(source: str) -> str:
    """What nbgrader's ClearSolutions makes of a marked code cell (each marked region -> the stub line)."""
    out, inside = [], False
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line:
            out.append(re.match(r"\s*", line).group(0) + CODE_STUB)
            inside = True
        elif END_SOLUTION in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _checked(source: str, where: str) -> tuple[str, list[str]]:
    """(label, argument expressions) of the check cell's call of a checker."""
    by_name = {entry.check.__name__: label for label, entry in EXERCISES.items()}
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id in by_name]
    if len(calls) != 1:
        raise ExerciseFormatError(f"{where}: a check cell must call exactly one checker (found {len(calls)})")
    call = calls[0]
    return by_name[call.func.id], [ast.get_source_segment(source, a) for a in call.args]


def graded_check_source(check_source: str, label: str, args: list[str]) -> str:
    """The autograded test cell: the book's check, the assertion, the same on fresh hidden cases."""
    answers = ", ".join([repr(label), *args])
    return (f"{check_source.rstrip()}\n"
            "# nbgrader: this cell fails, and earns no points, unless the check says PASS\n"
            "from coursework.nbgrader_tests import assert_pass\n"
            f"assert_pass({answers})\n"
            f"{BEGIN_HIDDEN}\n"
            f"assert_pass({answers}, fresh_cases=True)\n"
            f"{END_HIDDEN}")


def rubric_text(rubric: list) -> str:
    total = _points(sum(float(m) for m, _ in rubric))
    lines = [f"**Rubric** ({total} marks; in the teacher's copy only):", ""]
    lines += [f"- [{_points(float(m))}] {point}" for m, point in rubric]
    return "\n".join(lines)


def nbgrader_notebook(nb, chapter: str, *, points: dict[str, float] | None = None, where: str = "notebook"):
    """(nbgrader source notebook, Assignment-like report) for one instructor notebook."""
    points = points or {}
    student, _ = student_notebook(nb, chapter, where=where)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    # The solution cells of each exercise, in order: label -> [cell, ...]
    solutions: dict[str, list] = {}
    open_label = None
    for cell in nb.cells:
        directive = find_directive(cell.source) if cell.cell_type == "markdown" else None
        if directive is not None and directive.name == "solution-start":
            open_label = directive.arg
        elif directive is not None and directive.name == "solution-end":
            open_label = None
        elif "solution" in tags(cell) and open_label and not _nnlib(cell).get("extra"):
            solutions.setdefault(open_label, []).append(cell)
    label_of = {id(c): label for label, cells in solutions.items() for c in cells}

    report = Assignment(name="", notebook="")
    out = copy.deepcopy(student)
    used_ids: set[str] = set()

    def unique(grade_id: str) -> str:
        candidate, k = grade_id, 2
        while candidate in used_ids:
            candidate, k = f"{grade_id}-{k}", k + 1
        used_ids.add(candidate)
        return candidate

    for index, cell in enumerate(out.cells):
        here = f"{where}, cell {index + 1}"
        original = by_id.get(cell.get("id"))
        answer_label = cell.metadata.get("coursework", {}).get("answer")
        if original is not None and "solution" in tags(original) and original.cell_type == "code":
            label = label_of.get(id(original))
            if label is None:
                raise ExerciseFormatError(f"{here}: a solution code cell outside a solution-start/-end block")
            cell.source = mark_solution(original.source, _stub(original), here)
            cell.metadata["nbgrader"] = _meta(unique(label), solution=True)
        elif cell.cell_type == "markdown" and answer_label:
            cells = [c for c in solutions.get(answer_label, []) if c.cell_type == "markdown"]
            rubric = next((_nnlib(c)["rubric"] for c in cells if _nnlib(c).get("rubric")), None)
            if not cells or not rubric:
                raise ExerciseFormatError(f"{here}: the written exercise {answer_label} has no model answer "
                                          "with a rubric")
            marks = sum(float(m) for m, _ in rubric)
            cell.source = "\n\n".join([*(c.source.strip() for c in cells), "---", rubric_text(rubric)])
            cell.metadata["nbgrader"] = _meta(unique(f"answer-{answer_label}"), solution=True, grade=True,
                                              points=_points(marks))
            report.written[answer_label] = marks
        elif "check" in tags(cell) and cell.cell_type == "code":
            label, args = _checked(cell.source, here)
            value = float(points.get(label, DEFAULT_POINTS))
            cell.source = graded_check_source(cell.source, label, args)
            cell.metadata["nbgrader"] = _meta(unique(f"test-{label}"), grade=True, locked=True, points=_points(value))
            report.coding[label] = value
        else:
            cell.metadata["nbgrader"] = _meta(unique(f"cell-{cell.get('id') or index}"), locked=True)
            report.read_only += 1
        for text in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            if text in cell.source and not ("nbgrader" in cell.metadata and (
                    cell.metadata["nbgrader"]["solution"] or cell.metadata["nbgrader"]["grade"])):
                raise ExerciseFormatError(f"{here}: the text {text!r} would be read as an nbgrader marker")
    missing = set(solutions) - set(report.coding) - set(report.written)
    if missing:
        raise ExerciseFormatError(f"{where}: no check cell for {', '.join(sorted(missing))}")
    nbformat.validate(out)
    return out, report


CONFIG = '''\
# nbgrader's configuration for the course written by python -m coursework.nbgrader_export.
# Generated: export again rather than editing it (or keep your changes in a second config file).
c = get_config()  # noqa: F821 (nbgrader defines it)

c.CourseDirectory.course_id = {course_id!r}
# What nbgrader hands out in place of a solution: the book's stubs.
c.ClearSolutions.code_stub = {{"python": {code_stub!r}}}
c.ClearSolutions.text_stub = {text_stub!r}
# Autograding: each cell may run this many seconds, then it is interrupted and fails
# (an endless loop costs that exercise, the rest of the notebook is still graded).
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
'''

README = """\
# {title}: the nbgrader course

Written by `python -m coursework.nbgrader_export` from the book's chapters: one
nbgrader assignment per chapter. Export again after a change to the chapters; do not
edit the notebooks in `source/` by hand.

| assignment | notebook | autograded exercises (points) | written answers (points) |
| --- | --- | --- | --- |
{rows}

## Importing it

1. Install nbgrader (`python -m pip install nbgrader`, 0.9 or newer) in the environment
   that runs the notebooks, with the book's requirements (numpy, scikit-learn, matplotlib).
2. Run nbgrader in this folder (it holds `nbgrader_config.py`), or copy `source/` and the
   settings of `nbgrader_config.py` into your existing course folder.
3. For each assignment: `nbgrader generate_assignment ch01` writes the student version
   into `release/ch01/` (solutions replaced by the stubs, hidden tests removed), with
   `nnlib/`, `coursework/` and `images/` beside the notebook. Hand that folder out
   (`nbgrader release_assignment ch01`, or your learning platform).
4. Collect the students' notebooks into `submitted/<student>/ch01/` (`nbgrader collect ch01`,
   or `nbgrader zip_collect ch01`), then `nbgrader autograde ch01`.
5. Mark the written answers in the formgrader (`jupyter lab`, then Nbgrader > Formgrader),
   or with `nbgrader generate_feedback ch01` after marking. The rubric of each written
   answer is in the teacher's copy of the notebook (`source/`), below the model answer.

## How the points are given

A coding exercise's test cell runs the book's check (it prints PASS, FAIL or NOT DONE
YET, as in the book) and then fails unless the check said PASS: on the cases the
notebook shows and, in a hidden part nbgrader adds back before grading, on cases
drawn afresh. nbgrader grades in the student's own kernel: code a student writes can
replace the checker and forge a pass. The book's class checker
(`python -m coursework.check_submissions submitted --exercises 'ex-01-*'`) grades the
same notebooks in a sandbox and cannot be fooled that way; run it on the same folder to
compare (see the teacher's guide, chapters/teaching.md).
"""


def _fresh(outdir: Path) -> None:
    if outdir.exists() and any(outdir.iterdir()) and not (outdir / MARKER).exists():
        raise ExerciseFormatError(f"{outdir} exists and is not a course written by this tool; give a new or "
                                  "empty folder")
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / MARKER).write_text("Written by python -m coursework.nbgrader_export; source/, nbgrader_config.py "
                                 "and README.md are replaced when it runs again.\n", encoding="utf-8")


def copy_support(dest: Path, chapters: Path = CHAPTERS) -> None:
    """What a chapter notebook needs beside it: nnlib, the checkers, the chapters' folders (images/)."""
    import nnlib

    _copy_dirs(chapters, dest)
    shutil.copytree(Path(nnlib.__file__).resolve().parent, dest / "nnlib", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    checkers = dest / "coursework"
    checkers.mkdir(exist_ok=True)
    here = Path(__file__).resolve().parent
    for name in (*STUDENT_MODULES, *EXTRA_MODULES):
        shutil.copy2(here / name, checkers / name)


def write_course(outdir: Path, chapters: Path = CHAPTERS, *, only: str | None = None,
                 points: dict[str, float] | None = None, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
                 course_id: str = "nnlib") -> list[Assignment]:
    """Write the nbgrader course of the chapters ``only`` names (all by default) into ``outdir``."""
    notebooks = select_chapters(only, chapters)
    converted = []
    for src in notebooks:   # convert everything before writing anything
        nb = nbformat.read(src, as_version=4)
        out, report = nbgrader_notebook(nb, chapter_number(src), points=points, where=src.name)
        report.name, report.notebook = assignment_name(src), src.name
        converted.append((out, report))
    _fresh(outdir)
    for out, report in converted:
        folder = outdir / "source" / report.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(out, folder / report.notebook)
        copy_support(folder, chapters)
    (outdir / "nbgrader_config.py").write_text(CONFIG.format(
        course_id=course_id, code_stub=CODE_STUB, text_stub=ANSWER_PLACEHOLDER, timeout=int(cell_timeout)),
        encoding="utf-8")
    reports = [r for _, r in converted]
    rows = "\n".join(
        f"| {r.name} | {r.notebook} | "
        + (", ".join(f"{label} ({_points(p)})" for label, p in r.coding.items()) or "-") + " | "
        + (", ".join(f"{label} ({_points(p)})" for label, p in r.written.items()) or "-") + " |"
        for r in reports)
    (outdir / "README.md").write_text(README.format(title=_book_title(), rows=rows), encoding="utf-8")
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", type=Path, help="the nbgrader course folder to write")
    parser.add_argument("--only", metavar="CHAPTERS", help="only these chapters: numbers or ranges, e.g. 1,2 or 3-5")
    parser.add_argument("--chapters", type=Path, default=CHAPTERS, help="folder of the instructor notebooks")
    parser.add_argument("--points", type=Path, metavar="CSV",
                        help="points of the coding exercises (label,points rows, as for the class checker); "
                             f"{_points(DEFAULT_POINTS)} each by default")
    parser.add_argument("--cell-timeout", type=int, default=DEFAULT_CELL_TIMEOUT, metavar="S",
                        help=f"seconds one cell may run when autograding (default {DEFAULT_CELL_TIMEOUT})")
    parser.add_argument("--course-id", default="nnlib", help="nbgrader's course id (default nnlib)")
    args = parser.parse_args(argv)
    try:
        points = None
        if args.points is not None:
            points = read_points(args.points)
        reports = write_course(args.outdir, args.chapters, only=args.only, points=points,
                               cell_timeout=args.cell_timeout, course_id=args.course_id)
    except (ValueError, OSError) as exc:   # ExerciseFormatError included
        print(f"nbgrader_export: {exc}", file=sys.stderr)
        return 1
    for r in reports:
        print(f"{r.name}: {r.notebook:28s} {len(r.coding)} autograded ({_points(sum(r.coding.values()))} points), "
              f"{len(r.written)} written ({_points(sum(r.written.values()))} points), {r.read_only} read-only cells")
    print(f"nbgrader course of {len(reports)} chapter{'' if len(reports) == 1 else 's'} written to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
