"""Test both ends of the version ranges: the oldest versions pyproject.toml allows, and the newest.

    python tools/dependency_ends.py [--ends lowest,newest] [--python newest=/path/to/python3.13]
    make test-ends

pyproject.toml gives ranges, not pins (nnlib's requirements and the groups of
the book, its notebooks and tests): a promise that the lowest versions they
allow work as well as the newest. This tool keeps it. It builds two virtual
environments with uv in .venv-ends/ (git-ignored), each with what
requirements.txt installs (nnlib, editable, with those groups):

* lowest: every requirement at the lowest version its range allows (uv's
  ``--resolution lowest-direct``), on the oldest Python the project supports;
* newest: every requirement at the newest version, on the newest Python the
  project is tested on.

The Python versions are pyproject.toml's "Programming Language :: Python ::
3.x" classifiers; the interpreters come from PATH or pyenv (nothing is
downloaded). Each environment then runs the unit tests and strict nbval over
every notebook (the browser test, the PDF test, nbgrader's round trip, the
coursework tests that run whole classes of notebooks in the sandbox and
JupyterLab on every chapter, not only on three, run in `make test`).

Each end also runs on another kind of CPU than this one (tools/kernel_check.py):
the lowest end with the generic x86-64 BLAS kernel and SIMD loops (Prescott), the
newest with the AVX2 ones (Haswell), while `make test` runs the native ones. So
strict nbval proves the stored outputs under three kernels and at both ends of
the ranges in one pass per environment. Where a kernel cannot be forced (another
architecture, another BLAS) the end runs natively and says why.

Both run at once, one core each; the tool prints the versions it tested and
the kernel, a line per environment and, for a failure, the end of its log (the
whole log is in .venv-ends/<end>/pytest.log).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

if not __package__:  # run as `python tools/dependency_ends.py`: the repository's folders are packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools import kernel_check as kc  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / ".venv-ends"
# What the notebooks and tests import, reported for each environment.
SHOWN = ("numpy", "scikit-learn", "matplotlib", "jupyter-book", "sphinx", "ipykernel", "nbclient",
         "nbval", "pytest")
# The CPU each end simulates (tools/kernel_check.py's TEST_MACHINES).
KERNELS = dict(zip(("lowest", "newest"), kc.TEST_MACHINES))
PYTEST = ["-m", "pytest", "tests", "chapters", "-q", "-p", "no:xdist",
          "--ignore", "tests/test_browser.py", "--ignore", "tests/test_pdf.py",
          # nbgrader's round trip runs nbgrader from its own environment, not these
          "--deselect", "tests/test_nbgrader.py::test_round_trip_chapter_1",
          # Whole classes of notebooks run in the sandbox, and every student notebook run once more:
          # minutes each, and what they add to the notebooks' own runs (above: strict nbval) is the
          # sandbox's limits and the grading, which do not depend on these versions. `make test` runs
          # them; the checker's smaller tests run here.
          "--ignore", "tests/test_hostile_submissions.py",
          "--deselect", "tests/test_check_submissions.py::test_an_honest_class_gets_the_verdicts_of_its_answers",
          "--deselect", "tests/test_check_submissions.py::test_the_gradebook_the_feedback_and_the_written_answers_of_a_class",
          "--deselect", "tests/test_check_submissions.py::test_limits_are_suggested_from_a_run_of_the_teachers_notebooks",
          "--deselect", "tests/test_student_edition.py::test_student_notebooks_run_and_every_check_says_not_done_yet"]
# JupyterLab takes about 10 s a chapter: the ends open three chapters that between them use
# every kind of MyST the chapters have (glossary terms, figure references, exercises, solutions,
# implementation notes, folded input and output); `make test` opens every chapter.
LAB_SAMPLE = ("01_neurons.ipynb", "08_adam.ipynb", "11_when_training_fails.ipynb")
PYTEST += [arg for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")) if path.name not in LAB_SAMPLE
           for arg in ("--deselect", f"tests/test_jupyterlab.py::test_chapter_reads_in_jupyterlab[{path.name}]")]


def tested_pythons() -> list[tuple[int, int]]:
    """The Python versions pyproject.toml's classifiers list, oldest first."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [re.fullmatch(r"Programming Language :: Python :: (\d+)\.(\d+)", c)
             for c in project.get("classifiers", [])]
    versions = sorted((int(m[1]), int(m[2])) for m in found if m)
    if not versions:
        raise SystemExit("pyproject.toml lists no 'Programming Language :: Python :: 3.x' classifier")
    return versions


def version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python(version: tuple[int, int]) -> str:
    """An interpreter of ``version`` from PATH or pyenv, or a clear error."""
    name = f"python{version[0]}.{version[1]}"
    candidates = [shutil.which(name)]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version[0]}.{version[1]}.*/bin/{name}"), reverse=True)
    candidates += [f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    for candidate in candidates:
        if candidate and version_of(candidate) == version:
            return candidate
    raise SystemExit(f"{name} not found on PATH or in pyenv; install it (for example `pyenv install "
                     f"{version[0]}.{version[1]}`) or pass --python END=/path/to/{name}")


def uv() -> str:
    found = Path(sys.executable).parent / "uv"
    return str(found) if found.exists() else shutil.which("uv") or sys.exit("uv not found: run `make book` first")


def build(end: str, python: str) -> Path:
    """A fresh environment for ``end`` with requirements.txt installed: nnlib (editable) and its groups."""
    env_dir = ENVS / end
    shutil.rmtree(env_dir, ignore_errors=True)
    quiet = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv(), "venv", "--quiet", "--python", python, str(env_dir)], check=True, env=quiet)
    resolution = "lowest-direct" if end == "lowest" else "highest"
    # lowest-direct: the groups' requirements count as direct ones, as nnlib's own do.
    # requirements.txt's "-e .[groups]" is relative to the working directory: the repository.
    subprocess.run([uv(), "pip", "install", "--quiet", "--python", str(env_dir / "bin" / "python"),
                    "--resolution", resolution, "-r", "requirements.txt"], check=True, env=quiet, cwd=ROOT)
    return env_dir


def kernel_env(end: str, python: str) -> tuple[dict, str]:
    """The environment variables that make ``python`` compute as the CPU of ``end`` does, and a
    description; this CPU's own kernel (and why) where that one cannot be forced."""
    machine = kc.MACHINES[KERNELS[end]]
    env, reason, chosen = kc.forced_env(machine, kc.probe(kc.base_env(), python), python)
    if reason:
        return kc.base_env(), f"this CPU's own kernel ({machine.describe()} not forced: {reason})"
    if env is None:
        raise SystemExit(f"{end}: OpenBLAS chose the {chosen} kernel instead of {machine.coretype}")
    return env, f"the kernel of {machine.describe()}"


def versions(env_dir: Path) -> dict[str, str]:
    out = subprocess.run([uv(), "pip", "freeze", "--python", str(env_dir / "bin" / "python")],
                         capture_output=True, text=True, check=True).stdout
    pins = dict(line.split("==", 1) for line in out.splitlines() if "==" in line)
    (env_dir / "versions.txt").write_text(out, encoding="utf-8")
    return {k.lower(): v for k, v in pins.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ends", default="lowest,newest", help="which ends (default: lowest,newest)")
    parser.add_argument("--python", action="append", default=[], metavar="END=PATH",
                        help="the interpreter for an end, instead of the one found")
    args = parser.parse_args(argv)
    ends = [e.strip() for e in args.ends.split(",") if e.strip()]
    if not ends or set(ends) - {"lowest", "newest"}:
        parser.error("--ends takes lowest, newest or both")
    given = dict(p.split("=", 1) for p in args.python)
    pythons = tested_pythons()
    wanted = {"lowest": pythons[0], "newest": pythons[-1]}

    runs = {}
    for end in ends:
        python = given.get(end) or find_python(wanted[end])
        got = version_of(python)
        start = time.perf_counter()
        env_dir = build(end, python)
        pins = versions(env_dir)
        env, kernel = kernel_env(end, str(env_dir / "bin" / "python"))
        print(f"{end}: Python {got[0]}.{got[1]}, installed in {time.perf_counter() - start:.0f} s: "
              + ", ".join(f"{name} {pins[name]}" for name in SHOWN if name in pins) + f"; runs under {kernel}",
              flush=True)
        log = (env_dir / "pytest.log").open("w", encoding="utf-8")
        runs[end] = (subprocess.Popen([str(env_dir / "bin" / "python"), *PYTEST], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT), log, time.perf_counter(), kernel)
    failed = []
    for end, (proc, log, start, kernel) in runs.items():
        code = proc.wait()
        log.close()
        text = Path(log.name).read_text(encoding="utf-8").splitlines()
        summary = text[-1].strip("= ") if text else "no output"
        print(f"{end}: {'passed' if code == 0 else 'FAILED'} in {time.perf_counter() - start:.0f} s ({summary})")
        if code != 0:
            failed.append(end)
            print("\n".join(text[-60:]))
            print(f"({end} ran under {kernel}: if only a notebook's output differs, `make kernels` shows "
                  "whether it depends on the CPU)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
