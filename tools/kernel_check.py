"""Which notebook cells print something that depends on the CPU?

    python tools/kernel_check.py [NOTEBOOK ...] [--machines Prescott,Haswell] [--jobs N]
    make kernels [NB=chapters/08_adam.ipynb]

A float's last bits depend on the machine code that computes it: OpenBLAS
picks a matrix-multiply kernel for the CPU it finds (SkylakeX on an AVX-512
CPU, Haswell on an AVX2 one, ...), and NumPy picks SIMD loops for exp, log,
tanh and friends the same way. A stored output that prints such bits passes
on the machine that made it and fails on a reader's. This tool runs each
notebook, top to bottom in a fresh kernel, once per simulated machine, and
shows every output line that differs from the stored one.

A simulated machine forces OpenBLAS's kernel (``OPENBLAS_CORETYPE``) and keeps
NumPy's SIMD loops to what that CPU has (``NPY_DISABLE_CPU_FEATURES``). Only
machines this CPU can run are simulated (an AVX-512 kernel needs an AVX-512
CPU); the others are listed as skipped, with the reason. Forcing needs
OpenBLAS on x86-64; on another BLAS or architecture the tool says so and
compares the native run only.

Run it after editing a chapter, before committing; it exits with status 1 if
any line differs. Outputs are compared as nbval compares them (text, not
images), after the masks in tests/sanitize.cfg.
"""

from __future__ import annotations

import argparse
import configparser
import difflib
import json
import os
import platform
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run as `python tools/kernel_check.py`: the repository's folders are packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.run_notebooks import merge_streams  # noqa: E402  (how a print is split depends on timing)

ROOT = Path(__file__).resolve().parents[1]

# One BLAS thread, as everywhere in the project (see the Makefile).
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# NumPy's names for what each class of x86-64 CPU can do (NumPy 1.26 names the
# single features, NumPy 2 also the x86-64-v2/v3/v4 levels). A simulated
# machine disables every SIMD target NumPy dispatches to that is not listed.
_SSE3 = {"SSE", "SSE2", "SSE3"}
_V2 = _SSE3 | {"SSSE3", "SSE41", "POPCNT", "SSE42", "X86_V2", "LAHF", "CX16"}
_AVX = _V2 | {"AVX"}
_V3 = _AVX | {"F16C", "FMA3", "AVX2", "X86_V3", "BMI", "BMI2", "LZCNT", "MOVBE"}
_SKX = _V3 | {"AVX512F", "AVX512CD", "AVX512VL", "AVX512BW", "AVX512DQ", "AVX512_SKX", "X86_V4"}


@dataclass(frozen=True)
class Machine:
    """A CPU class: the OpenBLAS kernel it gets, what NumPy may use, what it needs of this CPU."""

    name: str
    coretype: str  # the value of OPENBLAS_CORETYPE
    reports: tuple[str, ...]  # what OpenBLAS then calls its kernel (Prescott's is named Katmai)
    features: frozenset = field(repr=False)  # NumPy features such a CPU has
    needs: tuple[str, ...] = ()  # NumPy features this CPU must have to run the kernel

    def describe(self) -> str:
        return f"{self.name} (OPENBLAS_CORETYPE={self.coretype})"


MACHINES = {m.name: m for m in (
    Machine("Prescott", "Prescott", ("Katmai", "Prescott"), frozenset(_SSE3), ("SSE3",)),
    Machine("Nehalem", "Nehalem", ("Nehalem",), frozenset(_V2), ("SSE42",)),
    Machine("Sandybridge", "Sandybridge", ("Sandybridge",), frozenset(_AVX), ("AVX",)),
    Machine("Haswell", "Haswell", ("Haswell",), frozenset(_V3), ("AVX2", "FMA3")),
    Machine("Zen", "Zen", ("Zen", "Haswell"), frozenset(_V3), ("AVX2", "FMA3")),
    Machine("SkylakeX", "SkylakeX", ("SkylakeX",), frozenset(_SKX),
            ("AVX512F", "AVX512CD", "AVX512VL", "AVX512BW", "AVX512DQ")),
)}
# The two that CI runs besides the native one (`make test-ends` runs strict nbval
# at the lowest versions under the first, at the newest under the second): every
# x86-64 CPU of the last 15 years can run both, and they bracket what readers' CPUs get.
TEST_MACHINES = ("Prescott", "Haswell")

_PROBE = """
import json
import numpy as np
try:
    from numpy._core import _multiarray_umath as m
except ImportError:  # NumPy 1.x
    from numpy.core import _multiarray_umath as m
from threadpoolctl import threadpool_info
blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
print(json.dumps({"numpy": np.__version__, "features": sorted(k for k, v in m.__cpu_features__.items() if v),
                  "dispatch": list(m.__cpu_dispatch__), "blas": blas[0] if blas else None}))
"""


def probe(env: dict | None = None, python: str | None = None) -> dict:
    """NumPy's CPU features and dispatch targets, and the BLAS it loaded, seen by a new interpreter
    (``python``, by default this one)."""
    out = subprocess.run([python or sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def base_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
    for var in THREAD_VARS:
        env.setdefault(var, "1")
    return env


def machine_env(machine: Machine, native: dict) -> dict:
    env = base_env()
    env["OPENBLAS_CORETYPE"] = machine.coretype
    disabled = [f for f in native["dispatch"] if f not in machine.features]
    if disabled:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
    return env


def why_not(machine: Machine, native: dict) -> str | None:
    """None if this machine can simulate ``machine``, else the reason it cannot."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"forcing a BLAS kernel needs an x86-64 CPU; this one is {platform.machine()}"
    blas = native["blas"]
    if not blas or blas.get("internal_api") != "openblas":
        found = blas.get("internal_api") if blas else "none that threadpoolctl recognises"
        return f"forcing a BLAS kernel needs OpenBLAS; NumPy here uses {found}"
    missing = [f for f in machine.needs if f not in native["features"]]
    if missing:
        return f"this CPU lacks {', '.join(missing)}, which the {machine.coretype} kernel needs"
    return None


def forced_env(machine: Machine, native: dict, python: str | None = None) -> tuple[dict | None, str | None, str | None]:
    """The environment that makes ``python`` (by default this one) compute as ``machine`` does,
    checked with a probe: ``(env, None, None)``; or ``(None, reason, None)`` where this CPU cannot
    simulate it, or ``(None, None, kernel)`` where OpenBLAS ignored the setting and chose ``kernel``."""
    reason = why_not(machine, native)
    if reason:
        return None, reason, None
    env = machine_env(machine, native)
    got = probe(env, python)["blas"]["architecture"]
    if got not in machine.reports:
        return None, None, got
    return env, None, None


def plan(names: list[str]) -> tuple[list[tuple[str, dict]], list[tuple[str, str]]]:
    """The environments to run (native first) and the machines skipped, with the reason."""
    native = probe(base_env())
    runs = [("native", base_env())]
    skipped = []
    for name in names:
        machine = MACHINES[name]
        env, reason, ignored_for = forced_env(machine, native)
        if env is None:
            skipped.append((machine.describe(), reason or f"OpenBLAS ignored it and chose {ignored_for}"))
            continue
        runs.append((name, env))
    return runs, skipped


# ----------------------------------------------------------------------------- outputs


def sanitizer():
    """The masks of tests/sanitize.cfg, as nbval applies them."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "sanitize.cfg")
    rules = [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]

    def apply(text: str) -> str:
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        return text
    return apply


# What nbval leaves out of its comparison (without nbdime): images and widget ids.
NOT_COMPARED = ("image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json")


def cell_text(cell) -> list[str]:
    """A code cell's outputs as the lines nbval compares (images are not compared)."""
    lines: list[str] = []
    for out in merge_streams(cell.get("outputs", [])):
        kind = out["output_type"]
        if kind == "stream":
            lines += [f"[{out['name']}] {s}" for s in "".join(out["text"]).splitlines()]
        elif kind == "error":
            lines.append(f"[error] {out['ename']}: {out['evalue']}")
        else:
            for mime, value in sorted(out.get("data", {}).items()):
                if mime not in NOT_COMPARED:
                    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                    lines += [f"[{mime}] {s}" for s in text.splitlines()]
    return lines


def texts(nb) -> list[list[str]]:
    clean = sanitizer()
    return [[clean(s) for s in cell_text(c)] if c.cell_type == "code" else [] for c in nb.cells]


def this_environments_kernel():
    """A kernel manager for a kernel of this interpreter, as nbval's --nbval-current-env starts
    (a kernelspec named python3 elsewhere on the machine could point to another environment)."""
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisEnvironment(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict())

    return KernelManager(kernel_name="this-environment", kernel_spec_manager=ThisEnvironment())


def execute(job: tuple[str, str, dict]) -> tuple[str, str, list[list[str]], float]:
    """Run one notebook in a fresh kernel started with ``env``; its outputs' lines, per cell."""
    import nbformat
    from nbclient import NotebookClient

    path, label, env = job
    nb = nbformat.read(path, as_version=4)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    start = time.perf_counter()
    NotebookClient(nb, km=this_environments_kernel(), timeout=600, allow_errors=True,
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute(stderr=subprocess.DEVNULL)
    return path, label, texts(nb), time.perf_counter() - start


def first_line(cell) -> str:
    src = cell.source.strip().splitlines()
    return (src[0][:60] + ("..." if len(src[0]) > 60 or len(src) > 1 else "")) if src else "(empty)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in chapters/")
    parser.add_argument("--machines", default=",".join(MACHINES),
                        help=f"comma-separated, from {', '.join(MACHINES)} (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks run at once")
    args = parser.parse_args(argv)

    import nbformat

    names = [n.strip() for n in args.machines.split(",") if n.strip()]
    unknown = [n for n in names if n not in MACHINES]
    if unknown:
        parser.error(f"unknown machine {', '.join(unknown)}; choose from {', '.join(MACHINES)}")
    paths = [str(p) for p in (args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb")))]

    runs, skipped = plan(names)
    print("Machines:", ", ".join(label for label, _ in runs))
    for what, reason in skipped:
        print(f"  skipped {what}: {reason}")
    jobs = [(p, label, env) for p in paths for label, env in runs]
    results: dict[tuple[str, str], list[list[str]]] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, label, got, seconds in pool.map(execute, jobs):
            results[path, label] = got
            print(f"  ran {Path(path).name} on {label} in {seconds:.1f} s", flush=True)

    differing = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        stored = texts(nb)
        code_cells = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_cells += 1
            report = []
            for label, _ in runs:
                got = results[path, label][index]
                if got != stored[index]:
                    diff = difflib.unified_diff(stored[index], got, "stored", label, n=0, lineterm="")
                    report.append(f"    {label}:\n" + "\n".join("      " + d for d in list(diff)[2:]))
            if report:
                differing += 1
                # nbval's name for it: "Cell N", counting code cells from 0
                print(f"\n{Path(path).name}::Cell {code_cells - 1} ({first_line(cell)}): "
                      f"differs on {len(report)} of {len(runs)} machines")
                print("\n".join(report))
    if differing:
        print(f"\n{differing} cell(s) print something that depends on the machine. Make them report "
              "a fact that holds on every machine (README.md, 'Numbers that hold "
              "on every machine').")
        return 1
    print(f"\nEvery output of {len(paths)} notebook(s) is the same on {len(runs)} machine(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
