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
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from coursework import EXERCISES, protocol
from coursework import check_submissions as cs
from coursework import student_edition as se
from coursework.sandbox import bwrap_works
from helpers import ROOT

LABELS = ["ex-01-neuron-forward", "ex-01-tanh-derivative", "ex-01-gate-weights"]
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


def notebook(*sources: str):
    nb = new_notebook(cells=[new_code_cell(src, id=f"c{i}") for i, src in enumerate(sources)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write(folder: Path, name: str, *sources: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(*sources), path)


def sandbox_or_skip() -> str:
    works, why = bwrap_works()
    if not works:
        pytest.skip(f"{why}: the class checker needs bubblewrap (make browser installs it)")
    return "bwrap"


def run_checker(folder: Path, csv_path: Path, *args: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, "-m", "coursework.check_submissions", str(folder), "--csv", str(csv_path),
                           *args], capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return proc, rows


EXPECTED = {  # submission: (statuses, total, start of the note)
    "correct.ipynb": ([P, P, P], "3", ""),
    "partly_wrong.ipynb": ([P, F, N], "1", ""),
    "raises.ipynb": ([P, P, P], "3", "1 cell raised an error (first: cell 2, ZeroDivisionError: division by zero)"),
    "loops.ipynb": ([P, N, N], "1", "timed out after 8 s in cell 2; later cells did not run"),
    "untouched.ipynb": ([N, N, N], "0", ""),
}


def honest_class(folder: Path) -> None:
    write(folder, "correct.ipynb", NEURON, TANH, GATES)
    write(folder, "partly_wrong.ipynb", NEURON, "def tanh_derivative(z):\n    return 1 - z ** 2",
          "def gate_weights(gate):\n    raise NotImplementedError('write your solution here')")
    write(folder, "raises.ipynb", NEURON, "1 / 0", TANH, GATES)
    write(folder, "loops.ipynb", NEURON, "while True:\n    pass", TANH, GATES)
    write(folder, "untouched.ipynb", "import numpy as np")
    (folder / "notes.txt").write_text("not a notebook\n")


def test_an_honest_class_gets_the_verdicts_of_its_answers(tmp_path):
    mode = sandbox_or_skip()
    folder = tmp_path / "class"
    honest_class(folder)
    scratch = tmp_path / "scratch"   # the checker's temporary folders go here (TMPDIR)
    scratch.mkdir()
    proc, rows = run_checker(folder, tmp_path / "results.csv", "--timeout", "8", "--jobs", "2", "--sandbox", mode,
                             "--exercises", "ex-01-*", "--details", env=dict(os.environ, TMPDIR=str(scratch)))
    assert rows[0] == ["submission", *LABELS, "total", "note"]
    got = {row[0]: row[1:] for row in rows[1:]}
    assert sorted(got) == sorted(EXPECTED)
    for name, (statuses, total, note) in EXPECTED.items():
        assert got[name][:4] == [*statuses, total], (name, got[name])
        assert got[name][4].startswith(note) if note else got[name][4] == "", (name, got[name][4])
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["submission", *LABELS, "total", "note"]
    assert "correct.ipynb  PASS  PASS  PASS  3/3" in " ".join(proc.stdout.split("  "))  or \
        lines[1].split()[:5] == ["correct.ipynb", "PASS", "PASS", "PASS", "3/3"]
    assert "partly_wrong.ipynb  ex-01-tanh-derivative: FAIL - wrong values of the derivative" in proc.stdout
    # Nothing is left behind: no temporary folder, the submissions untouched.
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted([*EXPECTED, "notes.txt"])


def test_without_bubblewrap_the_run_stops_unless_asked(tmp_path):
    folder = tmp_path / "class"
    write(folder, "correct.ipynb", NEURON)
    env = dict(os.environ, PATH=str(tmp_path))   # no bwrap on this PATH
    proc = subprocess.run([sys.executable, "-m", "coursework.check_submissions", str(folder),
                           "--csv", str(tmp_path / "r.csv"), "--exercises", "ex-01-neuron-forward"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "--sandbox none" in proc.stderr
    assert not (tmp_path / "r.csv").exists()
    proc, rows = run_checker(folder, tmp_path / "r.csv", "--sandbox", "none", "--exercises", "ex-01-neuron-forward",
                             env=env)
    assert "NO sandbox" in proc.stderr and "warning" in proc.stderr
    assert rows[1][:3] == ["correct.ipynb", "PASS", "1"]


# --------------------------------------------------------------------------- the pieces

def test_columns_follow_the_book_order_and_a_pattern_must_match():
    known = list(EXERCISES)
    assert cs.select_columns(None, known) == known
    assert cs.select_columns("ex-01-*", known) == LABELS
    assert cs.select_columns("ex-02-he-init, ex-01-*", known) == ["ex-02-he-init", *LABELS]
    with pytest.raises(ValueError, match="matches no exercise"):
        cs.select_columns("ex-99-*", known)


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
    found, refused = cs.find_submissions(folder)
    assert [name for _, name in found] == ["alice/a.ipynb"]
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
    _, rows = run_checker(folder, tmp_path / "results.csv", "--timeout", "300", "--jobs", "2",
                          "--sandbox", mode, "--exercises", "ex-01-*")
    assert rows == [
        ["submission", *LABELS, "total", "note"],
        [f"student/{chapter.name}", *[N] * 3, "0", ""],
        [f"teacher/{chapter.name}", *[P] * 3, "3", ""],
    ]
