"""The book's numbers on other CPUs: strict nbval again, under forced BLAS kernels.

The native run of nbval (pytest over chapters/) proves the stored outputs on
this machine. A reader's CPU gets another OpenBLAS kernel and other NumPy SIMD
loops, which round differently in the last bits. Each test below runs strict
nbval over one notebook once more, in a fresh pytest process whose kernel
gets the matrix-multiply kernel and the NumPy instruction set of another class
of x86-64 CPU (tools/kernel_check.py defines them): the generic SSE kernel
that any x86-64 CPU runs, and the AVX2 kernel of most laptops since 2013.

Where the kernel cannot be forced (another architecture, another BLAS than
OpenBLAS) the test is skipped with the reason. `make kernels` runs all six
kernels and shows which output lines differ.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import ROOT
from tools import kernel_check as kc


@pytest.fixture(scope="module")
def native():
    return kc.probe(kc.base_env())


NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _machine_class(machine: str, notebook):
    """A test class for one notebook on one machine: `pytest -n auto --dist loadscope` spreads them."""
    def test_strict_nbval(self, native):
        run_strict_nbval(kc.MACHINES[machine], native, notebook)
    return type(f"Test{machine}_{notebook.stem}", (), {"test_strict_nbval": test_strict_nbval})


for _machine in kc.TEST_MACHINES:
    for _notebook in NOTEBOOKS:
        _cls = _machine_class(_machine, _notebook)
        globals()[_cls.__name__] = _cls


def run_strict_nbval(machine, native: dict, notebook) -> None:
    reason = kc.why_not(machine, native)
    if reason:
        pytest.skip(f"{machine.describe()} not run: {reason}")
    env = kc.machine_env(machine, native)
    chosen = kc.probe(env)["blas"]["architecture"]
    assert chosen in machine.reports, f"OpenBLAS chose {chosen} instead of {machine.coretype}"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(notebook.relative_to(ROOT)), "-q", "-p", "no:xdist"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-80:])
        pytest.fail(f"strict nbval fails on {machine.describe()}: a stored output of {notebook.name} holds only on some "
                    f"CPUs. `make kernels` shows the differing lines.\n{tail}\n{proc.stderr[-2000:]}",
                    pytrace=False)
    assert " passed" in proc.stdout.splitlines()[-1], proc.stdout[-500:]
