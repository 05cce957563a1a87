"""The class checker (python -m coursework.check_submissions) on honest submissions.

A fabricated class answers chapter 1's three coding exercises: correctly,
partly wrong, with a cell that raises, with a cell that loops for ever, and
with the student edition untouched. The grades come from the grader calling
each answer in a sandbox (tests/test_hostile_submissions.py tries to forge
them). Then the pieces: the table's cleaning, the exercise selection, the
refusal of links, the plain-data protocol, and a real chapter end to end.
"""

from __future__ import annotations

import csv
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursework import EXERCISES, protocol
from coursework import check_submissions as cs
from coursework import sheet, written
from coursework import student_edition as se
from coursework.grading import Result
from coursework.sandbox import bwrap_works
from helpers import ROOT

LABELS = ["ex-01-neuron-forward", "ex-01-tanh-derivative", "ex-01-gate-weights"]
EXPERIMENT = "ex-01-two-clouds"   # chapter 1's last exercise, after the written ex-01-bias
P, F, N = "PASS", "FAIL", "NOT DONE YET"

NEURON = '''
import numpy as np
def neuron_forward(X, w, b):
    z = X @ w + b
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
'''
TANH = '''
def tanh_derivative(z):
    t = np.tanh(z)
    return 1 - t * t
'''
GATES = '''
def gate_weights(gate):
    table = {"AND": ([10.0, 10.0], -15.0), "OR": ([10.0, 10.0], -5.0),
             "NAND": ([-10.0, -10.0], 15.0), "NOR": ([-10.0, -10.0], 5.0)}
    w, b = table[gate]
    return np.array(w), b
'''


def notebook(*sources):
    """A notebook of code cells (strings) and any cells given as such."""
    cells = [new_code_cell(src) if isinstance(src, str) else src for src in sources]
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i}"
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write(folder: Path, name: str, *sources) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(*sources), path)


def sandbox_or_skip() -> str:
    works, why = bwrap_works()
    if not works:
        pytest.skip(f"{why}: the class checker needs bubblewrap (make browser installs it)")
    return "bwrap"


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def run_checker(folder: Path, out: Path, *args: str, env: dict | None = None):
    """Run the class checker; (the process, notebooks.csv as rows of [submission, *statuses, notes])."""
    proc = subprocess.run([sys.executable, "-m", "coursework.check_submissions", str(folder), "--out", str(out),
                           *args], capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    table = read_csv(out / "notebooks.csv")
    header = table[0]
    labels = [h for h in header[2:-1] if not h.endswith(" detail")]
    rows = [["submission", *labels, "notes"]]
    for row in table[1:]:
        record = dict(zip(header, row))
        rows.append([record["submission"], *[record[label] for label in labels], record["notes"]])
    return proc, rows


CHECKS = "from coursework import check_neuron_forward, check_tanh_derivative, check_gate_weights"

EXPECTED = {  # submission: (statuses, start of the notes)
    "ana/01.ipynb": ([P, P, P], ""),
    "ben/01.ipynb": ([P, F, N], ""),
    "cem/01.ipynb": ([P, P, P], "1 cell raised an error (first: cell 2, ZeroDivisionError: division by zero)"),
    "dan/01.ipynb": ([P, "TIMED OUT", "TIMED OUT"], "timed out after 12 s in cell "),
    "hal/01.ipynb": ([P, P, P], "cell 2 ran past 4 s and was interrupted; the run went on"),
    "ivy/01.ipynb": ([P, "TIMED OUT", "TIMED OUT"], "cell 2 did not stop when interrupted after 4 s; later cells did "
                                                    "not run"),
    "eli/01.ipynb": (["", "", ""], ""),
    "gus/01.ipynb": (["UNREADABLE"] * 3, "unreadable: not a notebook (JSONDecodeError)"),
    "fay/01.ipynb": (["SYNTAX ERROR", "ERROR", "MISSING"], "3 cells raised an error (first: cell 2, SyntaxError: expected ':' (line 1))"),
}


def honest_class(folder: Path) -> None:
    write(folder, "ana/01.ipynb", NEURON, TANH, GATES)
    write(folder, "ben/01.ipynb", NEURON, "def tanh_derivative(z):\n    return 1 - z ** 2",
          "def gate_weights(gate):\n    raise NotImplementedError('write your solution here')")
    write(folder, "cem/01.ipynb", NEURON, "1 / 0", TANH, GATES)
    # Every cell within its 4 s, but the notebook past its 12 s before the last two answers.
    write(folder, "dan/01.ipynb", NEURON, *["import time\ntime.sleep(2.5)"] * 6, TANH, GATES)
    # An endless loop costs its own cell's 4 s, not the exercises after it...
    write(folder, "hal/01.ipynb", NEURON, "while True:\n    pass", TANH, GATES)
    # ...unless it does not stop when interrupted.
    write(folder, "ivy/01.ipynb", NEURON, "while True:\n    try:\n        while True:\n            pass\n"
          "    except KeyboardInterrupt:\n        pass", TANH, GATES)
    write(folder, "eli/01.ipynb", "import numpy as np")
    write(folder, "fay/01.ipynb", "import numpy as np\n" + CHECKS, "def neuron_forward(X, w, b)\n    return X",
          "def tanh_derivative(z):\n    return 1 / 0", "check_gate_weights(gate_weights)",
          "check_neuron_forward(neuron_forward)", "check_tanh_derivative(tanh_derivative)")
    (folder / "gus").mkdir()
    (folder / "gus" / "01.ipynb").write_text('{"cells": [')   # cut short: not JSON
    (folder / "notes.txt").write_text("not a notebook\n")
    (folder / "ana" / ".ipynb_checkpoints").mkdir()
    write(folder / "ana" / ".ipynb_checkpoints", "01-checkpoint.ipynb", NEURON)


def test_an_honest_class_gets_the_verdicts_of_its_answers(tmp_path):
    mode = sandbox_or_skip()
    folder = tmp_path / "class"
    honest_class(folder)
    scratch = tmp_path / "scratch"   # the checker's temporary folders go here (TMPDIR)
    scratch.mkdir()
    out = tmp_path / "results"
    proc, rows = run_checker(folder, out, "--timeout", "12", "--cell-timeout", "4", "--jobs", "2", "--sandbox", mode,
                             "--exercises", ",".join(LABELS), "--details", env=dict(os.environ, TMPDIR=str(scratch)))
    assert rows[0] == ["submission", *LABELS, "notes"]
    got = {row[0]: row[1:] for row in rows[1:]}
    assert sorted(got) == sorted(EXPECTED)
    for name, (statuses, note) in EXPECTED.items():
        assert got[name][:3] == statuses, (name, got[name])
        assert got[name][3].startswith(note) if note else got[name][3] == "", (name, got[name][3])
    # Nothing skipped in silence.
    assert "skipped 2 file(s) that are not notebooks to grade: ana/.ipynb_checkpoints/ (hidden), notes.txt" \
        in proc.stderr
    # The printed sheet: one row per student, the whole hint under each verdict that is not PASS.
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["student", *LABELS, "total", "notes"]
    assert lines[1].split() == ["ana", "PASS", "PASS", "PASS", "3/3"]
    assert re.search(r"^eli +- +- +- +0/3$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^gus +UNREADABLE +UNREADABLE +UNREADABLE +0/3 +gus/01.ipynb: unreadable", proc.stdout, re.M)
    details = proc.stdout
    assert "ben  ex-01-tanh-derivative: FAIL - wrong values of the derivative on z = [-2, 0, 2]" in details
    assert "    1 - z**2 uses the input z; the formula is written with the output, tanh(z)" in details
    assert "fay  ex-01-neuron-forward: SYNTAX ERROR - cell 2: SyntaxError: expected ':' (line 1)" in details
    assert "fay  ex-01-tanh-derivative: ERROR - tanh_derivative raised ZeroDivisionError: division by zero" in details, details
    assert "    the error came from line 2 of the cell that defines tanh_derivative\n" in details
    assert "fay  ex-01-gate-weights: MISSING - the notebook calls the check of ex-01-gate-weights but defines no " \
           "gate_weights" in details
    # Nothing is left behind: no temporary folder, the submissions untouched.
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(["ana", "ben", "cem", "dan", "eli", "fay", "gus",
                                                                    "hal", "ivy", "notes.txt"])
    # Re-run only what timed out, with more time: the others' results are kept as they were.
    before = {row[0]: row for row in rows}
    proc, rows = run_checker(folder, out, "--timeout", "30", "--cell-timeout", "4", "--jobs", "2",
                             "--sandbox", mode, "--exercises", ",".join(LABELS), "--rerun-timed-out")
    assert "re-running the 3 notebook(s) that timed out or had a cell interrupted; the results of 6 other(s) are " \
        "kept" in proc.stderr
    after = {row[0]: row for row in rows}
    assert after["dan/01.ipynb"][1:5] == [P, P, P, ""]
    assert after["ivy/01.ipynb"][1:4] == [P, "TIMED OUT", "TIMED OUT"]
    assert {k: v for k, v in after.items() if k not in ("dan/01.ipynb", "hal/01.ipynb", "ivy/01.ipynb")} == \
        {k: v for k, v in before.items() if k not in ("dan/01.ipynb", "hal/01.ipynb", "ivy/01.ipynb")}


def written_cells(label: str, text: str, *, tagged: bool = True) -> dict:
    """The statement of a written exercise and the student's answer under it, as the student edition has them."""
    statement = new_markdown_cell("### Exercise 1.4: What the bias is for", metadata={"coursework": {"exercise": label}})
    answer = new_markdown_cell(text, metadata={"coursework": {"answer": label}} if tagged else {})
    return [statement, answer]


def test_the_gradebook_the_feedback_and_the_written_answers_of_a_class(tmp_path):
    mode = sandbox_or_skip()
    folder = tmp_path / "class"
    write(folder, "s001/01_neurons.ipynb", "import numpy as np\nfrom coursework import check_neuron_forward",
          "check_neuron_forward(neuron_forward)", NEURON, TANH, GATES,
          *written_cells("ex-01-bias", "None: at (0, 0) the output is 0.5 ```whatever``` the weights."))
    write(folder, "s002/01_neurons.ipynb", NEURON)
    # A second notebook: the best verdict counts. The answer cell was deleted and another written below.
    write(folder, "s002/01_again.ipynb", NEURON, TANH, *written_cells("ex-01-bias", "AND and OR.", tagged=False))
    (folder / "s002" / "answers.zip").write_bytes(b"PK")   # not a notebook: in the student's row, not graded
    write(folder, "s009/01_neurons.ipynb", "def tanh_derivative(z):\n    return z",
          *written_cells("ex-01-bias", "*Write your answer here.*"))
    (tmp_path / "class.csv").write_text("id,name\ns001,Ana Lima\ns002,Ben Ong\ns003,Cem Ak\n")
    (tmp_path / "points.csv").write_text("label,points\nex-01-neuron-forward,2\nex-01-gate-weights,0.5\n")
    out = tmp_path / "grades"
    args = ("--timeout", "30", "--jobs", "2", "--sandbox", mode, "--exercises", "ex-01-*",
            "--class-list", str(tmp_path / "class.csv"), "--points", str(tmp_path / "points.csv"))
    run_checker(folder, out, *args)
    book = read_csv(out / "gradebook.csv")
    assert book == [
        ["student_id", "name", *LABELS, "ex-01-bias", EXPERIMENT, "chapter 1", "total", "out of", "notes"],
        ["s001", "Ana Lima", "2", "1", "0.5", "", "0", "3.5", "3.5", "7.5",
         "written answers to mark: ex-01-bias; s001/01_neurons.ipynb: 1 cell raised an error (first: cell 2, "
         "NameError: name 'neuron_forward' is not defined)"],
        ["s002", "Ben Ong", "2", "1", "0", "", "0", "3", "3", "7.5",
         "written answers to mark: ex-01-bias; s002/answers.zip: not a notebook, not graded"],
        ["s003", "Cem Ak", "0", "0", "0", "0", "0", "0", "0", "7.5", "handed in nothing"],
        ["s009", "", "0", "0", "0", "0", "0", "0", "0", "7.5", "not on the class list"],
    ]
    ana = (out / "feedback" / "s001.md").read_text()
    assert ana.startswith("# Feedback: Ana Lima (s001)\n")
    assert "## Exercise 1.2: The derivative of tanh (ex-01-tanh-derivative): PASS (1 of 1)" in ana
    assert "**Total: 3.5 of 7.5**" in ana
    assert "the answer (cell 3) is below its check cell (cell 2)" in ana
    assert "its check cell was deleted (the grade does not need it)" in ana
    assert "## Exercise 1.4: What the bias is for (ex-01-bias, written): not marked yet (out of 3)" in ana
    ben = (out / "feedback" / "s002.md").read_text()
    assert "## Exercise 1.3: Four logic gates by hand (ex-01-gate-weights): not handed in" in ben
    assert (out / "feedback" / "s003.md").read_text().endswith("No notebook was handed in.\n")
    s009 = (out / "feedback" / "s009.md").read_text()
    assert "(ex-01-tanh-derivative): FAIL (0 of 1)" in s009 and "wrong values of the derivative" in s009
    assert "(ex-01-bias, written): no answer written (0 of 3)" in s009
    # A page per student with each written answer, as typed, beside the rubric.
    page = (out / "written" / "s001.md").read_text()
    assert "````text\nNone: at (0, 0) the output is 0.5 ```whatever``` the weights.\n````" in page
    assert "Rubric (out of 3):" in page and "- [ ] (1) None of the four gates." in page
    assert "AND and OR." in (out / "written" / "s002.md").read_text()
    assert "*No answer written.*" in (out / "written" / "s009.md").read_text()
    marks = read_csv(out / "written-marks.csv")
    assert marks == [["student_id", "label", "marks", "out of", "comment"],
                     ["s001", "ex-01-bias", "", "3", ""], ["s002", "ex-01-bias", "", "3", ""]]
    # A second run on the same folder changes nothing.
    first = {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    run_checker(folder, out, *args)
    assert {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first
    # The teacher marks the written answers; the sheet takes them in without running a notebook.
    marks[1][2:] = ["2", "3", "Say where the boundary must pass."]
    marks[2][2] = "0"
    with open(out / "written-marks.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(marks)
    proc, _ = run_checker(folder, out, *args, "--sheet-only")
    assert "Checking" not in proc.stderr
    book = read_csv(out / "gradebook.csv")
    assert book[1][5:10] == ["2", "0", "5.5", "5.5", "7.5"] and book[2][5:10] == ["0", "0", "3", "3", "7.5"]
    assert "(ex-01-bias, written): 2 of 3\n\nSay where the boundary must pass." in \
        (out / "feedback" / "s001.md").read_text()
    assert read_csv(out / "written-marks.csv") == marks   # the teacher's sheet is kept as it is
    assert re.search(r"^s001 .* 2/3 +- +5.5/7.5", proc.stdout, re.M), proc.stdout
    # Marks the rubric does not allow are refused, with the line.
    marks[2][2] = "4"
    with open(out / "written-marks.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(marks)
    proc = subprocess.run([sys.executable, "-m", "coursework.check_submissions", str(folder), "--out", str(out),
                           *args, "--sheet-only"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2 and "written-marks.csv, line 3: 4 marks for ex-01-bias, which is out of 3" \
        in proc.stderr


def test_limits_are_suggested_from_a_run_of_the_teachers_notebooks(tmp_path):
    mode = sandbox_or_skip()
    # The sleeping cell is the slowest by a margin a loaded machine keeps (the first cell's
    # imports once took 1.1 s there, against a sleep of 1 s).
    write(tmp_path / "chapters", "01_neurons.ipynb", NEURON, "import time\ntime.sleep(4)", TANH)
    (tmp_path / "chapters" / "images").mkdir()
    (tmp_path / "chapters" / "images" / "figure.png").write_bytes(b"png")   # a chapter's figure: not timed
    proc = subprocess.run([sys.executable, "-m", "coursework.check_submissions", str(tmp_path / "chapters"),
                           "--suggest-limits", "--sandbox", mode], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    row = re.search(r"^01_neurons.ipynb  (\d+\.\d)  cell 2: (4\.\d) s$", proc.stdout, re.M)
    assert row, proc.stdout
    notebook, cell = float(row.group(1)), float(row.group(2))
    # Three times the notebook and the cell, rounded up to tens of seconds, at least 60 and 30
    # (the notebook's time is printed to a tenth: either side of that rounding will do).
    limits = re.search(r"suggested, for --jobs 1: --timeout (\d+) --cell-timeout (\d+)", proc.stdout)
    assert limits, proc.stdout
    allowed = {max(60, int(-(-3 * t // 10) * 10)) for t in (notebook - 0.05, notebook + 0.05)}
    assert int(limits.group(1)) in allowed, proc.stdout
    assert int(limits.group(2)) == 30 and 3 * cell < 30, proc.stdout
    assert "figure.png" not in proc.stdout
    assert not (tmp_path / "chapters-results").exists()   # it grades nothing


def test_without_bubblewrap_the_run_stops_unless_asked(tmp_path):
    folder = tmp_path / "class"
    write(folder, "correct.ipynb", NEURON)
    env = dict(os.environ, PATH=str(tmp_path))   # no bwrap on this PATH
    proc = subprocess.run([sys.executable, "-m", "coursework.check_submissions", str(folder),
                           "--exercises", "ex-01-neuron-forward"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "--sandbox none" in proc.stderr
    assert not (tmp_path / "class-results").exists()
    proc, rows = run_checker(folder, tmp_path / "r", "--sandbox", "none", "--exercises", "ex-01-neuron-forward",
                             env=env)
    assert "NO sandbox" in proc.stderr and "warning" in proc.stderr
    assert rows[1][:2] == ["correct.ipynb", "PASS"]


# --------------------------------------------------------------------------- the pieces

def test_columns_follow_the_book_order_and_a_pattern_must_match():
    known = list(EXERCISES)
    assert cs.select_columns(None, known) == known
    assert cs.select_columns("ex-01-*", known) == [*LABELS, EXPERIMENT]
    assert cs.select_columns("ex-02-he-init, ex-01-*", known) == ["ex-02-he-init", *LABELS, EXPERIMENT]
    with pytest.raises(ValueError, match="matches no exercise"):
        cs.select_columns("ex-99-*", known)


def test_whose_notebook_it_is_and_what_the_class_files_say(tmp_path):
    assert sheet.student_of("alice/01_neurons.ipynb") == "alice"
    assert sheet.student_of("alice_01_neurons.ipynb") == "alice"
    assert sheet.student_of("alice.ipynb") == "alice"
    # With a class list, an ID holding "_" is found whole, the longest first.
    assert sheet.student_of("s_12_01_neurons.ipynb", ["s_1", "s_12"]) == "s_12"
    assert sheet.student_of("s_1.ipynb", ["s_1", "s_12"]) == "s_1"
    listed = tmp_path / "ids.txt"
    listed.write_text("s1\ns2\n\n")
    assert sheet.read_class_list(listed) == [("s1", ""), ("s2", "")]
    listed.write_text("id,name\ns1,A\ns1,B\n")
    with pytest.raises(ValueError, match="IDs listed twice: s1"):
        sheet.read_class_list(listed)
    # A spreadsheet set to a language with a decimal comma saves with semicolons.
    listed.write_text("\ufeffName;ID\nLima, Ana;s1\nOng;s2\n")
    assert sheet.read_class_list(listed) == [("s1", "Lima, Ana"), ("s2", "Ong")]
    marks = tmp_path / "written-marks.csv"
    marks.write_text("student_id;label;marks;out of;comment\ns1;ex-01-bias;1,5;3;ok\ns2;ex-01-bias;;3;\n")
    written_all = written.written_exercises()
    assert written.read_marks(marks, written_all) == {("s1", "ex-01-bias"): (1.5, "ok"),
                                                      ("s2", "ex-01-bias"): (None, "")}
    marks.write_text("s1,ex-01-bias,2\n")   # the first row lost
    with pytest.raises(ValueError, match="the first row must name the columns"):
        written.read_marks(marks, written_all)
    points = tmp_path / "points.csv"
    points.write_text("ex-01-neuron-forward,two\n")
    with pytest.raises(ValueError, match="not a number"):
        sheet.read_points(points)
    points.write_text("ex-99-nothing,1\n")
    with pytest.raises(ValueError, match="is not a coding exercise"):
        sheet.read_points(points)


def test_a_written_answer_is_found_wherever_the_student_typed_it(tmp_path):
    statement = written.written_exercises()["ex-01-bias"].statement
    heading = "### Exercise 1.4: What the bias is for\n\n"
    cells = [new_markdown_cell(heading + statement + "\n\nNone of them.", metadata={"coursework": {"exercise": "ex-01-bias"}}),
             new_markdown_cell("*Write your answer here.*", metadata={"coursework": {"answer": "ex-01-bias"}})]
    write(tmp_path, "a.ipynb", *cells)
    assert written.collect(tmp_path / "a.ipynb", ["ex-01-bias"], {"ex-01-bias": statement}) == \
        {"ex-01-bias": "None of them."}
    assert written.collect(tmp_path / "a.ipynb", ["ex-01-bias"]) == {"ex-01-bias": ""}
    # A folder named in another case is the student of the class list.
    results = [Result("Quinn/01.ipynb"), Result("QUINN_02.ipynb")]
    class_ = sheet.students(results, [("quinn", "Quinn Doe")])
    assert [(s.id, len(s.notebooks)) for s in class_] == [("quinn", 2)]
    # An unreadable 02_layers.ipynb stands for chapter 2's exercises, not chapter 1's.
    leo = sheet.Student("leo", notebooks=[Result("leo/02_layers.ipynb", unreadable=True, notes=["unreadable"])])
    assert leo.verdict("ex-01-neuron-forward") is None and leo.verdict("ex-02-he-init").status == "UNREADABLE"
    scheme = sheet.Scheme(written={"ex-02-zero-output-layer": written.written_exercises()["ex-02-zero-output-layer"]})
    assert scheme.status(leo, "ex-02-zero-output-layer") == "UNREADABLE"


def test_names_and_notes_are_cleaned_for_terminals_and_spreadsheets():
    assert cs.clean("\x1b[2J\x1b]0;owned\x07evil\r\nname\u202e.ipynb") == "?[2J?]0;owned?evil name?.ipynb"
    assert cs.csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert cs.csv_cell("+1") == "'+1" and cs.csv_cell("-x") == "'-x" and cs.csv_cell("@a") == "'@a"
    assert cs.csv_cell("ok name") == "ok name"


def test_links_and_special_files_are_refused_not_followed(tmp_path):
    folder = tmp_path / "class"
    write(folder, "alice/a.ipynb", "1")
    outside = tmp_path / "outside"
    write(outside, "teacher.ipynb", "1")
    (folder / "link.ipynb").symlink_to(outside / "teacher.ipynb")
    (folder / "linkdir").symlink_to(outside, target_is_directory=True)
    os.mkfifo(folder / "fifo.ipynb")
    write(folder, ".hidden/x.ipynb", "1")
    found, refused, skipped = cs.find_submissions(folder)
    assert [name for _, name in found] == ["alice/a.ipynb"]
    assert skipped == [".hidden/ (hidden)"]
    assert sorted(refused) == ["fifo.ipynb: not a regular file", "link.ipynb: a symbolic link, not followed",
                               "linkdir: a symbolic link, not followed"]


def test_plain_data_round_trips_and_refuses_anything_else():
    from nnlib import BinaryCrossEntropy, Dense, Model, Tanh
    rng = np.random.default_rng(3)
    rng.normal()
    model = Model([Dense(2, 3, rng=1), Tanh(), Dense(3, 1, rng=2)])
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, "x", None, True], {"k": np.float32(1.5)}, rng, model,
             BinaryCrossEntropy(), b"bytes", np.int64(7))
    back = protocol.decode(protocol.encode(value))
    assert isinstance(back, tuple) and isinstance(back[1], list)
    assert np.array_equal(back[0], value[0]) and back[1] == value[1]
    assert back[2]["k"] == np.float32(1.5) and isinstance(back[2]["k"], np.float32)
    assert back[3].normal() == rng.normal()
    assert [repr(layer) for layer in back[4].layers] == [repr(layer) for layer in model.layers]
    assert all(np.array_equal(p, q) for p, q in zip(back[4].parameters(), model.parameters()))
    assert isinstance(back[5], BinaryCrossEntropy) and back[6] == b"bytes" and back[7] == 7
    # what plain data does not carry arrives as a stand-in that keeps only its type's name
    assert type(protocol.decode(protocol.encode(lambda: 1))).__name__ == "function"
    assert isinstance(protocol.decode(protocol.encode(np.array(["a"]))), protocol.Opaque)
    for bad in ({"$": "pickle", "data": "gASVAAAA"}, {"$": "array", "dtype": "|O", "shape": [1], "data": ""},
                {"$": "array", "dtype": "<f8", "shape": [10**9], "data": ""}, [1, 2], 1.5,
                {"$": "model", "layers": [{"type": "Dense", "in": 10**6, "out": 10**6}]}):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(bad)


def test_a_real_chapter_teacher_passes_and_student_edition_is_not_done(tmp_path):
    """End to end on chapter 1: the instructor notebook passes every exercise, the student edition none."""
    mode = sandbox_or_skip()
    chapter = ROOT / "chapters" / "01_neurons.ipynb"
    folder = tmp_path / "class"
    (folder / "teacher").mkdir(parents=True)
    (folder / "student").mkdir()
    shutil.copy(chapter, folder / "teacher" / chapter.name)
    se.convert_file(chapter, folder / "student" / chapter.name)
    _, rows = run_checker(folder, tmp_path / "results", "--timeout", "300", "--jobs", "2",
                          "--sandbox", mode, "--exercises", "ex-01-*")
    # The written exercise's answer cell is the student edition's (the instructor's holds the solution).
    assert rows == [
        ["submission", *LABELS, "ex-01-bias", EXPERIMENT, "notes"],
        [f"student/{chapter.name}", *[N] * 3, "NO ANSWER", N, ""],
        [f"teacher/{chapter.name}", *[P] * 3, "", P, ""],
    ]


def test_results_never_land_in_the_repository_by_default(tmp_path):
    inside = ROOT / "some-class"
    assert cs.output_folder(inside, None) == ROOT / "_build" / "grading" / "some-class"
    assert cs.output_folder(tmp_path / "class", None) == tmp_path / "class-results"
    assert cs.output_folder(tmp_path / "class", tmp_path / "x") == tmp_path / "x"
