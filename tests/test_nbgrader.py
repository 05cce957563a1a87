"""The nbgrader export (coursework.nbgrader_export), round trip on chapter 1.

The course is exported, nbgrader releases ch01 (no solution may be left in the
release), a small class is fabricated from the released notebook and
autograded, and nbgrader's scores are compared with what the book's class
checker says about the same notebooks.

nbgrader runs from an environment of its own, .venv-nbgrader, which `make test`
installs (nbgrader needs jupyterlab 4.2 or newer, which would lift the lowest
versions the book's own environment is tested with). Without that environment
the round trip is skipped, unless NNLIB_NBGRADER_PYTHON names the Python to use.

    python -m pytest tests/test_nbgrader.py -p no:nbval -s    # -s prints the timings
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from coursework import nbgrader_export
from coursework.nbgrader_export import BEGIN_SOLUTION, CODE_STUB, END_SOLUTION, mark_solution, release_of
from coursework.student_edition import ANSWER_PLACEHOLDER, _norm, leaks, solution_snippets, student_notebook

ROOT = Path(__file__).resolve().parents[1]
# The Python of the environment nbgrader is installed in (make test installs .venv-nbgrader).
NBGRADER_PYTHON = Path(os.environ.get("NNLIB_NBGRADER_PYTHON") or ROOT / ".venv-nbgrader" / "bin" / "python")
needs_nbgrader = pytest.mark.skipif(not NBGRADER_PYTHON.exists(),
                                    reason=f"no nbgrader environment at {NBGRADER_PYTHON} (make test installs it)")
CHAPTER = ROOT / "chapters" / "01_neurons.ipynb"
ASSIGNMENT, NOTEBOOK = "ch01", "01_neurons"
CELL_TIMEOUT = 10          # seconds per cell when autograding (dave's endless loop costs this much)
LABELS = ("ex-01-neuron-forward", "ex-01-tanh-derivative", "ex-01-gate-weights")
TIMINGS: dict[str, float] = {}
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "PYTHONPATH": "",   # the kernels import nnlib and coursework from the assignment folder only
       # nbgrader runs the `alembic` command (its gradebook's migrations) from PATH: that of its environment
       "PATH": os.pathsep.join([str(NBGRADER_PYTHON.parent), os.environ.get("PATH", "")])}


def run(name: str, args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    TIMINGS[name] = time.perf_counter() - start
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def nbgrader_cli(*args: str) -> list[str]:
    return [str(NBGRADER_PYTHON), "-m", "nbgrader", *args]


# --------------------------------------------------------------------------- the submissions

def _source_answers(course: Path) -> dict[str, str]:
    """grade_id -> the teacher's answer: a solution without its markers, a model answer without its rubric."""
    nb = nbformat.read(course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            text = cell.source
            if cell.cell_type == "code":
                text = "\n".join(line for line in text.split("\n") if BEGIN_SOLUTION not in line
                                 and END_SOLUTION not in line)
            else:
                text = text.split("\n\n---\n\n")[0]
            answers[meta["grade_id"]] = text
    return answers


def _replace_body(source: str, body: str) -> str:
    """A stub with its raise line replaced by ``body`` (indented lines)."""
    assert CODE_STUB in source
    return source.replace(f"    {CODE_STUB}", body)


# What each fabricated student does to the released notebook, and what each grader should say.
# nbgrader: points of the three test cells; class checker: status per coding exercise.
CLASS = {
    "alice": "everything right, written answer given",
    "bob": "neuron_forward right, tanh_derivative wrong (1 - z**2), gate_weights not done",
    "carol": "neuron_forward raises, tanh_derivative right, gate_weights right",
    "dave": "neuron_forward right, tanh_derivative never returns (endless loop), gate_weights right",
    "eve": "forgery: solves nothing, replaces assert_pass from her solution cell",
    "frank": "forgery: solves nothing, edits the test cells (source 'pass', points 10) and the answer cell's points",
    "grace": "forgery: solves nothing, installs an IPython exception handler that hides the test cells' errors",
    "henry": "forgery: solves nothing, deletes the three test cells",
}
EXPECTED_NBGRADER = {   # points of test-ex-01-neuron-forward, -tanh-derivative, -gate-weights
    "alice": (1, 1, 1), "bob": (1, 0, 0), "carol": (0, 1, 1), "dave": (1, 0, 1),
    "eve": (1, 1, 1),     # NOT resisted: code in the student's kernel replaces the assertion
    "frank": (0, 0, 0),   # resisted: locked cells are put back from the gradebook (checksums)
    "grace": (0, 0, 0),   # resisted: the execute reply's error status is recorded as an error output
    "henry": (0, 0, 0),   # resisted: a missing test cell scores 0
}
EXPECTED_CLASS_CHECKER = {
    "alice": ("PASS", "PASS", "PASS"), "bob": ("PASS", "FAIL", "NOT DONE YET"),
    "carol": ("ERROR", "PASS", "PASS"), "dave": ("PASS", "FAIL", "PASS"),   # FAIL: "tanh_derivative did not return within 5 s" (--call-timeout)
    "eve": ("NOT DONE YET",) * 3, "frank": ("NOT DONE YET",) * 3, "grace": ("NOT DONE YET",) * 3,
    "henry": ("NOT DONE YET",) * 3,
}


def fabricate(course: Path, students: list[str]) -> None:
    """submitted/<student>/ch01/01_neurons.ipynb for each student, made from the released notebook."""
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    model = _source_answers(course)
    for student in students:
        nb = nbformat.from_dict(json.loads(json.dumps(release)))   # a deep copy
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}

        def solve(grade_id):
            cells[grade_id].source = model[grade_id]

        def body(grade_id, text):
            cells[grade_id].source = _replace_body(cells[grade_id].source, text)

        if student == "alice":
            for gid in (*LABELS, "answer-ex-01-bias"):
                solve(gid)
        elif student == "bob":
            solve("ex-01-neuron-forward")
            body("ex-01-tanh-derivative", "    return 1 - z**2")
            cells["answer-ex-01-bias"].source = "The bias makes it faster."
        elif student == "carol":
            body("ex-01-neuron-forward", '    raise ValueError("I give up")')
            solve("ex-01-tanh-derivative")
            solve("ex-01-gate-weights")
        elif student == "dave":
            solve("ex-01-neuron-forward")
            body("ex-01-tanh-derivative", "    while True:\n        pass")
            solve("ex-01-gate-weights")
        elif student == "eve":
            cells["ex-01-neuron-forward"].source += (
                "\n\nimport coursework.nbgrader_tests\n"
                "coursework.nbgrader_tests.assert_pass = lambda *args, **kwargs: None\n")
        elif student == "frank":
            for label in LABELS:
                cell = cells[f"test-{label}"]
                cell.source = "pass"
                cell.metadata["nbgrader"]["points"] = 10
            cells["answer-ex-01-bias"].metadata["nbgrader"]["points"] = 100
        elif student == "grace":
            cells["ex-01-neuron-forward"].source += (
                "\n\nget_ipython().set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: None)\n")
        elif student == "henry":
            nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test-")]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")


def gradebook_scores(course: Path, students: list[str]) -> dict[str, dict[str, tuple]]:
    """student -> grade_id -> (score, max_score, needs_manual_grade), read from nbgrader's gradebook."""
    program = (
        "import json, sys\n"
        "from nbgrader.api import Gradebook\n"
        "out = {}\n"
        "with Gradebook(sys.argv[1], course_id='nnlib') as gb:\n"
        "    for student in sys.argv[2:]:\n"
        f"        nb = gb.find_submission_notebook({NOTEBOOK!r}, {ASSIGNMENT!r}, student)\n"
        "        out[student] = {g.name: (g.score, g.max_score, g.needs_manual_grade) for g in nb.grades}\n"
        "print(json.dumps(out))\n")
    done = run("read gradebook", [str(NBGRADER_PYTHON), "-c", program, f"sqlite:///{course / 'gradebook.db'}",
                                  *students], cwd=course)
    return {student: {name: tuple(grade) for name, grade in grades.items()}
            for student, grades in json.loads(done.stdout).items()}


def class_checker(submitted: Path, out: Path, students: list[str]) -> dict[str, tuple[str, ...]]:
    """student -> the class checker's status of each coding exercise, from its notebooks.csv."""
    sandbox = [] if Path("/usr/bin/bwrap").exists() else ["--sandbox", "none"]
    done = run("class checker", [sys.executable, "-m", "coursework.check_submissions", str(submitted),
                          "--exercises", "ex-01-*", "--out", str(out), "--cell-timeout", str(CELL_TIMEOUT),
                          "--call-timeout", "5", "--timeout", "120", "--jobs", "1", *sandbox], cwd=ROOT)
    print("\n" + done.stdout)
    # nbgrader's test cells raise unless the check says PASS; that is no error of the student's code
    assert "AssertionError" not in done.stdout
    rows = list(csv.DictReader((out / "notebooks.csv").open(encoding="utf-8")))
    found = {}
    for row in rows:
        student = row.get("student") or row.get("student_id") or row["notebook"].split("/")[0]
        found[student] = tuple(row[label] if label in row else row.get(f"{label} status") for label in LABELS)
    return found


# --------------------------------------------------------------------------- the tests

def test_marked_solution_gives_back_the_stub():
    stub = 'def f(x):\n    """Doc."""\n    ' + CODE_STUB + '\n\n\ndef g(y):\n    """Doc."""\n    ' + CODE_STUB
    solution = 'def f(x):\n    """Doc."""\n    y = x\n\n    return y\n\n\ndef g(y):\n    """Doc."""\n    return -y'
    marked = mark_solution(solution, stub)
    assert release_of(marked) == stub
    assert marked.count(BEGIN_SOLUTION) == 2
    with pytest.raises(ValueError, match="signature and docstring differ"):
        mark_solution(solution.replace("def f(x)", "def f(x, z)"), stub)


def test_every_chapter_converts(tmp_path):
    """All chapters: the teacher's copy gives back the student edition wherever nbgrader clears a solution."""
    reports = nbgrader_export.write_course(tmp_path / "course")
    numbers = sorted(int(p.name[:2]) for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert [r.name for r in reports] == [f"ch{n:02d}" for n in numbers]   # chapter numbers may skip
    for report in reports:
        folder = tmp_path / "course" / "source" / report.name
        assert {"nnlib", "coursework", "images"} <= {p.name for p in folder.iterdir()}
        assert (folder / "coursework" / "nbgrader_tests.py").exists()
        nb = nbformat.read(folder / report.notebook, as_version=4)
        student, _ = student_notebook(nbformat.read(ROOT / "chapters" / report.notebook, as_version=4),
                                      str(int(report.name[2:])))
        assert len(nb.cells) == len(student.cells)
        for ours, theirs in zip(nb.cells, student.cells):
            meta = ours.metadata["nbgrader"]
            if meta["solution"] and ours.cell_type == "code":
                assert release_of(ours.source) == theirs.source
            elif meta["solution"]:
                assert theirs.source == ANSWER_PLACEHOLDER and "**Rubric**" in ours.source
            elif meta["grade"]:
                assert ours.source.startswith(theirs.source) and "BEGIN HIDDEN TESTS" in ours.source
            else:
                assert meta["locked"] and ours.source == theirs.source


@needs_nbgrader
def test_round_trip_chapter_1(tmp_path):
    course = tmp_path / "course"
    students = list(CLASS)
    run("export", [sys.executable, "-m", "coursework.nbgrader_export", str(course), "--only", "1",
                   "--cell-timeout", str(CELL_TIMEOUT)], cwd=ROOT)
    run("generate_assignment", nbgrader_cli("generate_assignment", ASSIGNMENT), cwd=course)

    # The release holds no solution, no rubric, no hidden test, no teacher's metadata.
    released = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(released, as_version=4)
    text = "\n".join(_norm(line) for cell in nb.cells for line in cell.source.splitlines())
    leaked = [piece for piece in solution_snippets()[NOTEBOOK] if piece in text]
    assert not leaked, f"the release shows solutions: {leaked}"
    raw = released.read_text(encoding="utf-8")
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "**Rubric**", '"nnlib"', "fresh_cases"):
        assert secret not in raw, secret
    assert [p for p in leaks(nb) if "nnlib metadata" in p or "tagged solution" in p] == []
    # Every cell nbgrader hands out is the student edition's, but the check cells (one assertion more).
    student, _ = student_notebook(nbformat.read(CHAPTER, as_version=4), "1")
    for ours, theirs in zip(nb.cells, student.cells, strict=True):
        if "check" in theirs.metadata.get("tags", []):
            assert ours.source.startswith(theirs.source + "\n")
        else:
            assert ours.source == theirs.source

    fabricate(course, students)
    run("autograde", nbgrader_cli("autograde", ASSIGNMENT), cwd=course)
    scores = gradebook_scores(course, students)
    got = {s: tuple(scores[s][f"test-{label}"][0] for label in LABELS) for s in students}

    statuses = class_checker(course / "submitted", tmp_path / "class-results", students)
    print()
    for step, seconds in TIMINGS.items():
        print(f"    {step:20s} {seconds:6.1f} s")
    for s in students:
        written = scores[s]["answer-ex-01-bias"]
        print(f"    {s:6s} nbgrader {got[s]} written {written}  class checker {statuses.get(s)}  ({CLASS[s]})")
    assert got == {s: tuple(float(p) for p in EXPECTED_NBGRADER[s]) for s in students}
    assert statuses == {s: EXPECTED_CLASS_CHECKER[s] for s in students}
    # Written answers wait for the teacher; one left as handed out scores 0 at once.
    assert scores["alice"]["answer-ex-01-bias"][2] is True
    assert scores["eve"]["answer-ex-01-bias"][:2] == (0.0, 3.0)
    assert scores["frank"]["answer-ex-01-bias"][1] == 3.0   # the points are the gradebook's, not the file's
