"""Submissions that try to take marks they did not earn, or to take the grading run down.

Each fabricated notebook below is what a student who wants the marks without
the work might hand in: forged results (printed, logged, written over the
checker in the kernel, hidden in the pickled answer), answers that call the
library or hide an overflow, answers that attack the process that calls
them, notebooks that kill, hang, fork or eat memory, and file names meant for
a terminal or a spreadsheet. The class checker must give each the grade its
answers deserve, say TAMPERED where it saw tampering, and finish the table.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from coursework.sandbox import ControlGroup, Limits
from helpers import ROOT
from test_check_submissions import GATES, NEURON, TANH, run_checker, sandbox_or_skip, write

P, F, N, T, E, X = "PASS", "FAIL", "NOT DONE YET", "TAMPERED", "ERROR", ""   # X: not in the notebook
LABELS = ["ex-01-neuron-forward", "ex-01-tanh-derivative", "ex-01-gate-weights", "ex-09-softmax",
          "ex-09-cross-entropy", "ex-09-confusion-matrix"]

FORGE_OUTPUTS = '''
import json, os, sys
# What the old checker believed: result lines printed, a log written, the checker replaced in the kernel.
for label in %r:
    print(label + ": PASS (5 checks)")
for name in ("NNLIB_EXERCISE_LOG", "COURSEWORK_LOG"):
    with open(os.environ.get(name, "exercise-log.jsonl"), "a") as fh:
        fh.write(json.dumps({"label": "ex-01-gate-weights", "status": "PASS", "detail": "4 checks"}) + "\\n")
import coursework
for entry in coursework.EXERCISES.values():
    object.__setattr__(entry, "check", lambda *answers: 99)
coursework.check_neuron_forward = lambda *a: print("ex-01-neuron-forward: PASS (5 checks)")
# Answers planted where the grader collects them, as links to somebody else's file.
os.makedirs("answers", exist_ok=True)
os.symlink("/etc/hostname", "answers/ex-01-gate-weights.pkl")
''' % (LABELS,)

LOOKUP = '''
import numpy as np
SHOWN = {(3, 3): np.array([0.37754067, 0.66818777, 0.52497919]), (1, 3): np.array([0.37754067]),
         (3, 1): np.array([1.0, 0.0, 0.5])}
def neuron_forward(X, w, b):
    """Right on the inputs the notebook shows, nothing behind them."""
    return SHOWN.get(X.shape, np.zeros(len(X)))
'''

LIBRARY = '''
import nnlib
def tanh_derivative(z):
    layer = nnlib.Tanh()
    layer.forward(z)
    return layer.backward(np.ones_like(z))
from sklearn.metrics import confusion_matrix as sk_confusion
def confusion_matrix(y_true, y_pred, k):
    return sk_confusion(y_true, y_pred, labels=range(k))
'''

SILENCED = '''
import warnings
def stable_softmax(Z):
    warnings.filterwarnings("ignore")
    with np.errstate(all="ignore"):
        e = np.exp(Z)
        return e / e.sum(axis=1, keepdims=True)
'''

UNTRACED = '''
import sys
def neuron_forward(X, w, b):
    sys.setprofile(None)                      # switch the checker's tracing off, then use the library
    return nnlib.sigmoid(X @ w + b)
class Unhook:
    """Pickled with the answer: on loading, it switches the tracing off from inside the unpickler."""
    def __reduce__(self):
        return (sys.setprofile, (None,))
UNHOOK = Unhook()
def cross_entropy_from_logits(Z, y):
    UNHOOK
    return float(nnlib.SoftmaxCrossEntropy()(y, Z))
'''

CHANNEL = '''
import os
def tanh_derivative(z):
    for fd in range(3, 64):                   # garbage down every descriptor the process has
        try:
            os.write(fd, b"\\xff\\xff\\xff\\x7f garbage")
        except OSError:
            pass
    t = np.tanh(z)
    return 1 - t * t
def gate_weights(gate):
    os._exit(0)                               # leave without a reply, with a happy exit code
def confusion_matrix(y_true, y_pred, k):
    os.kill(os.getppid(), 9)                  # kill the process that calls the answers
'''

HANG = '''
import time
def stable_softmax(Z):
    while True:
        time.sleep(1)
'''


def hostile_class(folder: Path, marker: str) -> dict[str, tuple[list[str], str]]:
    """Write the class; return submission -> (statuses of LABELS, a fragment of the note or "")."""
    write(folder, "forge_outputs.ipynb", FORGE_OUTPUTS)
    write(folder, "lookup_and_library.ipynb", LOOKUP, "import numpy as np", LIBRARY, SILENCED)
    write(folder, "untraced.ipynb", "import numpy as np\nimport nnlib", UNTRACED)
    write(folder, "channel.ipynb", "import numpy as np", CHANNEL, HANG)
    write(folder, "kills_parent.ipynb", NEURON, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", TANH)
    write(folder, "kills_everything.ipynb", NEURON, "import os, signal\nos.kill(-1, signal.SIGKILL)")
    write(folder, "exits.ipynb", NEURON, "import os\nos._exit(0)")
    write(folder, "leaves_things.ipynb", NEURON,
          "from multiprocessing import shared_memory\n"
          f"segment = shared_memory.SharedMemory(name={marker!r}, create=True, size=4096)\n"
          f"open('/dev/shm/{marker}-file', 'w').write('x')\n"
          f"open('/tmp/{marker}', 'w').write('x')")
    write(folder, "\x1b[2J\x1b[31mred.ipynb", NEURON)
    write(folder, "=HYPERLINK(1).ipynb", NEURON)
    return {
        "forge_outputs.ipynb": ([X, X, X, X, X, X], ""),
        "lookup_and_library.ipynb": ([F, F, X, F, X, F], ""),
        "untraced.ipynb": ([T, X, X, X, T, X], ""),
        "channel.ipynb": ([X, T, E, F, X, T], ""),
        # The answers a notebook defined before it killed or ended its kernel are still graded.
        "kills_parent.ipynb": ([P, "NOT RUN", X, X, X, X], "ended without a report"),
        "kills_everything.ipynb": ([P, X, X, X, X, X], "ended without a report"),
        "exits.ipynb": ([P, X, X, X, X, X], "the kernel died in cell 2"),
        "leaves_things.ipynb": ([P, X, X, X, X, X], ""),
        "?[2J?[31mred.ipynb": ([P, X, X, X, X, X], ""),
        "'=HYPERLINK(1).ipynb": ([P, X, X, X, X, X], ""),
    }


def test_forged_and_hostile_submissions_get_the_grades_their_answers_deserve(tmp_path):
    mode = sandbox_or_skip()
    folder = tmp_path / "class"
    marker = f"coursework-test-{uuid.uuid4().hex[:8]}"
    expected = hostile_class(folder, marker)
    (folder / "link.ipynb").symlink_to(ROOT / "chapters" / "01_neurons.ipynb")
    # A call limit well above what an honest answer needs on a loaded machine: at 6 s, a CI run
    # under load once reported the silenced overflow as "did not return within 6 s".
    proc, rows = run_checker(folder, tmp_path / "results", "--timeout", "40", "--call-timeout", "12",
                             "--jobs", "2", "--sandbox", mode, "--exercises", ",".join(LABELS), "--details")
    assert rows[0] == ["submission", *LABELS, "notes"]
    got = {row[0]: row[1:] for row in rows[1:]}
    assert got.pop("link.ipynb") == [*[""] * 6, "refused: a symbolic link, not followed"]
    assert sorted(got) == sorted(expected)
    for name, (statuses, note) in expected.items():
        assert got[name][:6] == statuses, (name, got[name])
        assert note in got[name][6], (name, got[name][6])
    details = proc.stdout
    assert "neuron_forward calls nnlib.sigmoid" not in details  # the untraced one is TAMPERED, not FAIL
    assert "lookup  ex-01-tanh-derivative: FAIL - tanh_derivative calls nnlib.Tanh" in details
    assert "ex-09-confusion-matrix: FAIL - confusion_matrix calls sklearn.metrics.confusion_matrix" in details
    assert "ex-09-softmax: FAIL - stable_softmax caused a warning: RuntimeWarning: overflow encountered in exp" \
        in details, [line for line in details.splitlines() if "ex-09-softmax" in line]
    assert "untraced  ex-01-neuron-forward: TAMPERED - the answer tried to change how it is graded: " \
           "the answer called sys.setprofile" in details
    assert "channel  ex-09-softmax: FAIL - stable_softmax did not return within 12 s" in details
    # The terminal never sees an escape character; nothing the notebook left behind survives it.
    assert "\x1b" not in proc.stdout + proc.stderr
    assert not any(Path(p).exists() for p in (f"/dev/shm/{marker}", f"/dev/shm/{marker}-file", f"/tmp/{marker}"))


def _process_limits_hold() -> bool:
    group = ControlGroup(Limits())
    try:
        return bool(group) or os.getuid() != 0
    finally:
        group.remove()


def test_fork_storms_and_memory_hogs_are_bounded(tmp_path):
    mode = sandbox_or_skip()
    if not _process_limits_hold():
        pytest.skip("no control group and running as root: the number of processes cannot be limited here")
    folder = tmp_path / "class"
    write(folder, "forks.ipynb", NEURON,
          "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    # Two processes of 600 MiB each: under a 1 GiB limit per process, over it together.
    write(folder, "memory.ipynb", NEURON,
          "import os, numpy as np\npid = os.fork()\nblock = np.ones(75_000_000)\n"
          "import time\ntime.sleep(30)")
    proc, rows = run_checker(folder, tmp_path / "results", "--timeout", "10", "--memory-mb", "1024",
                             "--max-procs", "64", "--sandbox", mode, "--exercises", "ex-01-neuron-forward")
    got = {row[0]: row[1:] for row in rows[1:]}
    assert got["forks.ipynb"][0] == P and "timed out" in got["forks.ipynb"][1]
    assert got["memory.ipynb"][0] == P and "memory limit" in got["memory.ipynb"][1], got["memory.ipynb"]
