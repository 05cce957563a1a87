"""The submission checker (tools/check_submissions.py) on fabricated and real submissions.

tests/fixtures/submissions/ holds fabricated students' notebooks (written by
tests/fixtures/make_submissions.py) that log results the way nnlib.exercises'
checkers do: one correct, one partly wrong, one with a cell that raises, one
that loops forever, one whose kernel dies, one that deletes its own folder and
one that is not a notebook at all. The checker must give the expected table and
must not be stopped by any of them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers import ROOT
from nnlib.exercises import EXERCISES
from tools import check_submissions as cs
from tools import student_edition as se

TOOL = ROOT / "tools" / "check_submissions.py"
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
LABELS = ["ex-99-alpha", "ex-99-beta", "ex-99-gamma"]


P, F, N = "PASS", "FAIL", "NOT DONE YET"
EXPECTED = {  # submission: (statuses, total, note)
    "broken.ipynb": ([N, N, N], "0", "could not run the notebook: NotJSONError"),
    "correct.ipynb": ([P, P, P], "3", ""),
    "deletes.ipynb": ([N, P, N], "1", ""),   # its log went with its folder; later checks log again
    "dies.ipynb": ([P, N, N], "1", "the kernel died in cell 4"),
    "loops.ipynb": ([P, N, N], "1", "timed out after 8 s in cell 4; later cells did not run"),
    "partly_wrong.ipynb": ([P, F, N], "1", ""),
    "raises.ipynb": ([P, P, F], "2", "1 cell raised an error (first: cell 4, ZeroDivisionError: division by zero)"),
}


def run_checker(folder: Path, csv_path: Path, *args: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, str(TOOL), str(folder), "--csv", str(csv_path), *args],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return proc, rows


def test_fabricated_submissions_give_the_expected_table(tmp_path):
    scratch = tmp_path / "scratch"   # the checker's temporary folders go here (TMPDIR)
    scratch.mkdir()
    proc, rows = run_checker(FIXTURES, tmp_path / "results.csv", "--timeout", "8", "--jobs", "2",
                             "--exercises", "ex-99-*", "--details", env=dict(os.environ, TMPDIR=str(scratch)))
    assert rows[0] == ["submission", *LABELS, "total", "note"]
    got = {row[0]: row[1:] for row in rows[1:]}
    assert sorted(got) == sorted(EXPECTED)
    for name, (statuses, total, note) in EXPECTED.items():
        assert got[name][:4] == [*statuses, total], name
        if note:
            assert got[name][4].startswith(note), (name, got[name][4])
        else:
            assert got[name][4] == "", (name, got[name][4])
    # The printed table: header, one line per submission, totals out of 3; then the FAIL details.
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["submission", *LABELS, "total", "note"]
    assert lines[2].split() == ["correct.ipynb", "PASS", "PASS", "PASS", "3/3"]
    assert "partly_wrong.ipynb  ex-99-beta: FAIL - double(3) returned 5, expected 6" in proc.stdout
    # Nothing is left behind: no temporary folder, the submissions untouched.
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(EXPECTED)


def test_read_log_keeps_the_last_result_and_skips_bad_lines(tmp_path):
    log = tmp_path / "log.jsonl"
    lines = [{"label": "ex-01-a", "status": "FAIL", "detail": "x"}, "not json", {"label": "ex-01-a"},
             {"label": "ex-01-b", "status": "MAYBE"}, {"label": "ex-01-a", "status": "PASS", "detail": "5 checks"}]
    log.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    assert cs.read_log(log) == ({"ex-01-a": ("PASS", "5 checks")}, 3)
    assert cs.read_log(tmp_path / "missing.jsonl") == ({}, 0)


def test_columns_follow_the_book_order():
    known = ["ex-01-b", "ex-01-a", "ex-02-c"]
    assert cs.select_columns(None, known, ["ex-09-z"]) == known
    assert cs.select_columns("ex-01-*", known, []) == ["ex-01-b", "ex-01-a"]
    assert cs.select_columns("ex-02-c, ex-01-*, ex-07-new", known, []) == ["ex-02-c", "ex-01-b", "ex-01-a",
                                                                             "ex-07-new"]


def test_columns_default_to_nnlib_exercises():
    assert cs.known_exercises() == list(EXERCISES)


def _probe_notebook(canary: Path, hidden: Path, port: int, sandbox: bool):
    """A notebook that tries what a careless or hostile submission might, and logs what happened."""
    setup = (
        "import json, os, socket\n"
        "def report(label, ok, detail=''):\n"
        "    with open(os.environ['NNLIB_EXERCISE_LOG'], 'a') as fh:\n"
        "        fh.write(json.dumps({'label': label, 'status': 'PASS' if ok else 'FAIL', 'detail': detail}) + '\\n')\n"
        "def fails(action):\n"
        "    try:\n"
        "        action()\n"
        "    except (OSError, MemoryError):\n"
        "        return True\n"
        "    return False\n"
    )
    cells = [
        setup,
        "from ipykernel import get_connection_info\n"
        "report('ex-99-ipc', json.loads(get_connection_info())['transport'] == 'ipc')",
        "here = os.getcwd()\n"
        "report('ex-99-env', 'NNLIB_TEST_SECRET' not in os.environ and os.environ['HOME'] == here\n"
        "       and os.environ['TMPDIR'] == here and os.environ['NNLIB_EXERCISE_LOG'].startswith(here))",
        "import mmap   # 3 GiB of address space, never touched: refused under a 2 GiB limit\n"
        "report('ex-99-memory', fails(lambda: mmap.mmap(-1, 3 * 1024**3)))",
    ]
    if sandbox:
        cells += [
            f"report('ex-99-readable', not fails(lambda: open({str(canary)!r}).read()))",
            f"report('ex-99-readonly', fails(lambda: os.remove({str(canary)!r})) and "
            f"fails(lambda: open({str(canary)!r}, 'a').write('x')))",
            f"report('ex-99-hidden', fails(lambda: open({str(hidden)!r}).read()))",
            f"report('ex-99-network', fails(lambda: socket.create_connection(('127.0.0.1', {port}), timeout=2)))",
        ]
    nb = new_notebook(cells=[new_code_cell(src, id=f"c{i}") for i, src in enumerate(cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.mark.parametrize("mode", ["none", "bwrap"])
def test_isolation(tmp_path, mode):
    """Always: own folder as HOME/TMPDIR, a clean environment, a memory limit, no TCP kernel ports.
    With bubblewrap: the file system is read-only, private folders are hidden, no network."""
    sandbox = mode == "bwrap"
    if sandbox:
        works, why = cs.bwrap_works()
        if not works:
            pytest.skip(f"{why} (apt-get install bubblewrap to test the sandbox)")
    build = ROOT / "_build"
    build.mkdir(exist_ok=True)
    canary_dir = Path(tempfile.mkdtemp(prefix="sandbox-canary-", dir=build))
    canary = canary_dir / "teacher.txt"
    canary.write_text("the teacher's file\n")
    hidden = tmp_path / "private.txt"
    hidden.write_text("secret\n")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        nbformat.write(_probe_notebook(canary, hidden, port, sandbox), submissions / "probe.ipynb")
        env = dict(os.environ, NNLIB_TEST_SECRET="do not pass on")
        try:
            _, rows = run_checker(submissions, tmp_path / "results.csv", "--timeout", "60", "--sandbox", mode,
                                  "--memory-mb", "2048", "--exercises", "ex-99-*", env=env)
        finally:
            survived = canary.read_text() if canary.exists() else None
            shutil.rmtree(canary_dir, ignore_errors=True)
    header, row = rows[0], rows[1]
    results = dict(zip(header[1:-2], row[1:-2]))
    expected = ["ex-99-ipc", "ex-99-env", "ex-99-memory"]
    if sandbox:
        expected += ["ex-99-readonly", "ex-99-hidden", "ex-99-network"]
        # The canary is readable unless it lies in a folder the sandbox hides (e.g. a checkout in /home).
        if not any(cs._under(str(canary), h) for h in cs.HIDDEN + (os.path.expanduser("~"),)):
            expected.append("ex-99-readable")
    assert {label: results.get(label) for label in expected} == {label: "PASS" for label in expected}, row
    assert row[-1] == ""
    assert survived == "the teacher's file\n"


def _first_chapter_with_checks():
    best = None
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any("check" in c.metadata.get("tags", []) for c in nb.cells):
            size = sum(c.cell_type == "code" for c in nb.cells)
            if best is None or size < best[0]:
                best = (size, path)
    return best[1] if best else None


def test_real_chapter_instructor_passes_and_student_edition_is_not_done(tmp_path):
    """End to end with nnlib.exercises: the instructor notebook (reference solutions) of the
    shortest chapter with check cells passes every exercise of its chapter; its student edition
    says NOT DONE YET for each."""
    chapter = _first_chapter_with_checks()
    assert chapter is not None, "no chapter has check cells"
    prefix = f"ex-{chapter.name[:2]}-"
    labels = [label for label in cs.known_exercises() if label.startswith(prefix)]
    submissions = tmp_path / "class"
    (submissions / "teacher").mkdir(parents=True)
    (submissions / "student").mkdir()
    shutil.copy(chapter, submissions / "teacher" / chapter.name)
    se.convert_file(chapter, submissions / "student" / chapter.name)
    _, rows = run_checker(submissions, tmp_path / "results.csv", "--timeout", "300", "--jobs", "2",
                          "--exercises", prefix + "*")
    n = str(len(labels))
    assert rows == [
        ["submission", *labels, "total", "note"],
        [f"student/{chapter.name}", *["NOT DONE YET"] * len(labels), "0", ""],
        [f"teacher/{chapter.name}", *["PASS"] * len(labels), n, ""],
    ]
