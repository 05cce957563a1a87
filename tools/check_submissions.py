"""Check a folder of submitted notebooks: PASS / FAIL / NOT DONE YET per exercise.

    python tools/check_submissions.py SUBMISSIONS_DIR [--timeout SECONDS] [--csv results.csv]

Every ``*.ipynb`` under SUBMISSIONS_DIR (sub-folders included, e.g. one per
student) is run top to bottom in a fresh kernel, in a temporary folder of its
own that holds only a copy of the notebook and the folders the chapters need
(chapters/images/). The kernel gets HOME and TMPDIR set to that folder and
NNLIB_EXERCISE_LOG pointing to a log file in it: each checker of
``nnlib.exercises`` that runs appends its result there. A cell that raises does
not stop the notebook (the next cells still run); a notebook that runs longer
than the time limit is stopped. The result is one row per notebook, one column
per exercise (in book order, from ``nnlib.exercises.EXERCISES``), a total and
a note (timed out, kernel died, cells that raised). It is printed and written
as CSV.

Isolation (details in the teacher's guide, chapters/teaching.md):
* always: own temporary folder (deleted afterwards), HOME/TMPDIR inside it, a
  minimal environment (no variables of yours such as tokens), resource limits
  (memory, CPU time, file size, core dumps, and the number of processes when not
  run as root), the time limit, the kernel's process group killed at the end;
* with bubblewrap (``bwrap``, used automatically when it works): the notebook
  also runs without network, sees the whole file system read-only except its
  own folder, does not see /home, /root, /tmp, /run, ... (apart from the Python
  installation it needs) nor the submissions folder, and everything it started
  is killed with it (own PID namespace).
Without bubblewrap a notebook runs as you: it can read and change any file you can.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import fnmatch
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nnlib.exercises import EXERCISES, FAIL, LOG_ENV, NOT_DONE, PASS

ROOT = Path(__file__).resolve().parent.parent
STATUSES = (PASS, FAIL, NOT_DONE)
LOG_NAME = "exercise-log.jsonl"
RESULT_PREFIX = "NNLIB-CHECK-RESULT "
PGID_PREFIX = "NNLIB-CHECK-PGID "
STARTUP = 60            # seconds a kernel may take to start (not counted in --timeout)
GRACE = STARTUP + 20.0  # seconds on top of --timeout before the worker itself is killed
MAX_LOG_BYTES = 10_000_000
# Directories hidden from a sandboxed notebook (an empty tmpfs is mounted on each).
HIDDEN = ("/home", "/root", "/run", "/tmp", "/var/tmp", "/mnt", "/media", "/srv")
# Environment variables passed on to the notebook; everything else is dropped.
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "PYTHONPATH", "SYSTEMROOT")


# --------------------------------------------------------------------------- exercises

def known_exercises() -> list[str]:
    """Labels of every coding exercise in book order."""
    return list(EXERCISES)


def select_columns(spec: str | None, known: list[str], seen: list[str]) -> list[str]:
    """The table's exercise columns.

    ``spec``: comma-separated labels or glob patterns (``ex-01-*``). Patterns
    select from the known exercises (book order) and then from the other labels
    seen in the logs; plain labels are used as given. Without ``spec``: every
    known exercise.
    """
    if not spec:
        return list(known)
    columns: list[str] = []
    pool = list(known) + [s for s in seen if s not in known]
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if any(ch in item for ch in "*?["):
            matches = [label for label in pool if fnmatch.fnmatchcase(label, item)]
        else:
            matches = [item]
        columns += [m for m in matches if m not in columns]
    return columns


def read_log(path: Path) -> tuple[dict[str, tuple[str, str]], int]:
    """{label: (status, detail)} from an exercise log (the last line for a label wins), bad lines."""
    results: dict[str, tuple[str, str]] = {}
    bad = 0
    # The notebook could have replaced its log by a symlink or a FIFO: read only a
    # regular file, without following links or blocking.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return results, 0
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return results, 1
        data = fh.read(MAX_LOG_BYTES)
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            label, status = entry["label"], entry["status"]
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        if not isinstance(label, str) or status not in STATUSES:
            bad += 1
            continue
        detail = entry.get("detail", "")
        results[label] = (status, detail if isinstance(detail, str) else str(detail))
    return results, bad


# --------------------------------------------------------------------------- sandbox

def _existing(paths) -> list[str]:
    out = []
    for p in paths:
        if p and os.path.exists(p) and str(p) not in out:
            out.append(str(p))
    return out


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def python_paths() -> list[str]:
    """What the kernel must be able to read: the interpreter, its libraries, nnlib, this script."""
    import site
    import sysconfig
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(os.path.abspath(sys.executable)),
             str(Path(__file__).resolve().parent)]
    paths += [os.path.realpath(p) for p in list(paths)]
    paths += [v for k, v in sysconfig.get_paths().items()]
    paths += site.getsitepackages()
    paths += [p for p in sys.path if p and os.path.isdir(p) and os.path.abspath(p) != os.getcwd()]
    paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    try:
        import nnlib
        paths.append(str(Path(nnlib.__file__).resolve().parent))
    except ImportError:
        pass
    return _existing(os.path.abspath(p) for p in paths)


def bwrap_command(workdir: Path, hide_also: list[Path]) -> list[str]:
    """bubblewrap arguments: read-only system, private folder, no network, own PID namespace."""
    hidden = [h for h in _existing([*HIDDEN, os.path.expanduser("~")]) if h != "/"]
    keep = [p for p in python_paths() if any(_under(p, h) for h in hidden)]
    keep = [p for p in keep if not any(q != p and _under(p, q) for q in keep)]   # outermost only
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for h in hidden:
        cmd += ["--tmpfs", h]
    for p in keep:
        cmd += ["--ro-bind", p, p]
    for extra in _existing(str(p.resolve()) for p in hide_also):
        if extra != "/" and not any(_under(p, extra) for p in keep) and not _under(str(workdir), extra):
            cmd += ["--tmpfs", extra]
    w = str(workdir)
    cmd += ["--bind", w, w, "--chdir", w,
            "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
    return cmd


def bwrap_works() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if not exe:
        return False, "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="nnlib-check-probe-") as tmp:
        cmd = bwrap_command(Path(tmp), []) + [sys.executable, "-c", "import numpy"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bwrap does not start: {exc}"
    if proc.returncode != 0:
        return False, "bwrap does not work here: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return True, exe


# --------------------------------------------------------------------------- one submission

@dataclass
class Result:
    submission: str
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def status(self, label: str) -> str:
        return self.statuses.get(label, (NOT_DONE, ""))[0]


@dataclass
class Options:
    timeout: float = 120.0
    memory_mb: int = 4096
    max_file_mb: int = 256
    sandbox: bool = False
    support: list[Path] = field(default_factory=list)
    hide: list[Path] = field(default_factory=list)


_running: dict[int, subprocess.Popen] = {}
_running_lock = threading.Lock()


def notebook_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
    env.update({
        "HOME": str(workdir), "TMPDIR": str(workdir), "TEMP": str(workdir), "TMP": str(workdir),
        LOG_ENV: str(workdir / LOG_NAME),
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
    })
    env.setdefault("PATH", os.defpath)
    env["PATH"] = os.path.dirname(os.path.abspath(sys.executable)) + os.pathsep + env["PATH"]
    return env


def _kill_group(pgid: int | None) -> None:
    if pgid and hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _rmtree(path: Path) -> None:
    # The notebook may have taken permissions away from its own files: give them back first.
    try:
        os.chmod(path, 0o700)
        for root, dirs, _files in os.walk(path):
            for d in dirs:
                p = os.path.join(root, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
    except OSError:
        pass

    def retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


def check_one(path: Path, name: str, opts: Options) -> Result:
    """Run one submitted notebook in its own temporary folder and read its exercise log."""
    result = Result(name)
    start = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="nnlib-check-")).resolve()
    try:
        for support in opts.support:
            if support.is_dir():
                shutil.copytree(support, workdir / support.name, dirs_exist_ok=True)
            elif support.is_file():
                shutil.copy2(support, workdir / support.name)
        target = workdir / path.name
        shutil.copyfile(path, target)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(target),
               "--timeout", str(opts.timeout), "--memory-mb", str(opts.memory_mb),
               "--max-file-mb", str(opts.max_file_mb), "--max-procs", str(process_limit())]
        if opts.sandbox:
            cmd = bwrap_command(workdir, opts.hide) + cmd
        popen_kw = {"start_new_session": True} if os.name == "posix" else {}
        proc = subprocess.Popen(cmd, cwd=workdir, env=notebook_env(workdir), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_kw)
        with _running_lock:
            _running[proc.pid] = proc
        killed = False
        try:
            out, err = proc.communicate(timeout=opts.timeout + GRACE)
        except subprocess.TimeoutExpired:
            killed = True
            _kill_group(proc.pid)
            proc.kill()
            out, err = proc.communicate()
        finally:
            with _running_lock:
                _running.pop(proc.pid, None)
        statuses, bad = read_log(workdir / LOG_NAME)
        result.statuses = statuses
        if bad:
            result.notes.append(f"{bad} unreadable line(s) in the exercise log")
        worker = {}
        kernel_pgid = None
        for line in out.decode("utf-8", errors="replace").splitlines():
            try:
                if line.startswith(RESULT_PREFIX):
                    worker = dict(json.loads(line[len(RESULT_PREFIX):]))
                elif line.startswith(PGID_PREFIX) and kernel_pgid is None:
                    # Only the first: the worker prints it before any cell runs.
                    kernel_pgid = int(line[len(PGID_PREFIX):])
            except (ValueError, TypeError):
                continue
        if not opts.sandbox and kernel_pgid and kernel_pgid > 1 and kernel_pgid != os.getpgrp():
            # Children the notebook started in its kernel's process group. (In the
            # sandbox the PID namespace has already ended them all.)
            _kill_group(kernel_pgid)
        if killed:
            result.notes.append(f"stopped: still running {opts.timeout + GRACE:.0f} s after the start")
        elif worker.get("note"):
            result.notes.append(worker["note"])
        elif not worker:
            tail = err.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            result.notes.append("the checker's worker failed: " + tail[0][:200])
        errors = worker.get("errors") or []
        if errors:
            first = errors[0]
            s = "s" if len(errors) > 1 else ""
            result.notes.append(f"{len(errors)} cell{s} raised an error (first: cell {first['cell']}, "
                                f"{first['error']})")
    except Exception as exc:  # one broken submission never stops the run
        result.notes.append(f"could not be checked: {type(exc).__name__}: {exc}")
    finally:
        _rmtree(workdir)
        result.seconds = time.monotonic() - start
    return result


# --------------------------------------------------------------------------- worker (runs the kernel)

def process_limit(extra: int = 256) -> int:
    """The number of processes you have now plus ``extra`` (0: no limit, e.g. as root or without /proc).

    Counted here, outside any sandbox, where all of your processes are visible.
    """
    if not hasattr(os, "getuid") or os.getuid() == 0 or not os.path.isdir("/proc"):
        return 0
    uid, mine = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                mine += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return mine + extra


def _apply_limits(timeout: float, memory_mb: int, max_file_mb: int, max_procs: int) -> None:
    """Resource limits for this process and the kernel it starts (inherited)."""
    try:
        import resource
    except ImportError:  # Windows
        return

    def limit(name: str, value: int) -> None:
        which = getattr(resource, name, None)
        if which is None:
            return
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    if memory_mb > 0:
        limit("RLIMIT_AS", memory_mb * 1024 * 1024)
    limit("RLIMIT_CPU", int(timeout + GRACE + 10))
    limit("RLIMIT_FSIZE", max_file_mb * 1024 * 1024)
    limit("RLIMIT_CORE", 0)
    if max_procs > 0:
        limit("RLIMIT_NPROC", max_procs)


def _die_with_parent() -> None:
    """Linux: this worker is killed if the checker dies (the kernel then exits by itself)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker(nb_path: Path, timeout: float, memory_mb: int, max_file_mb: int, max_procs: int) -> int:
    begin = time.monotonic()
    start = None   # the time limit counts from the moment the kernel is ready
    _die_with_parent()
    _apply_limits(timeout, memory_mb, max_file_mb, max_procs)
    # An explicit kernelspec: the kernel is this interpreter, whatever kernels
    # are installed elsewhere.
    from ipykernel.kernelspec import get_kernel_dict
    spec_dir = nb_path.parent / ".checker-kernels"
    (spec_dir / "kernels" / "python3").mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernels" / "python3" / "kernel.json").write_text(json.dumps(get_kernel_dict()))
    os.environ["JUPYTER_PATH"] = str(spec_dir)

    # jsonschema (imported by nbformat) loads the optional rfc3987_syntax
    # format checker when it is installed, which takes seconds; notebooks are
    # not validated against IRI formats, so this process does without it.
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    report: dict = {"note": None, "errors": [], "cells_run": 0}
    current = {"index": None}

    class TimeUp(Exception):
        pass

    def remaining() -> float:
        return (start or time.monotonic()) + timeout - time.monotonic()

    def on_cell_execute(cell, cell_index):
        if remaining() <= 0:
            raise TimeUp()
        current["index"] = cell_index
        report["cells_run"] += 1

    def on_cell_error(cell, cell_index, execute_reply):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            return
        content = execute_reply.get("content", {})
        message = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
        message = " ".join(message.split())
        if len(message) > 120:
            message = message[:117] + "..."
        report["errors"].append({"cell": cell_index + 1, "error": message})

    def on_notebook_start(notebook):
        nonlocal start
        start = time.monotonic()
        provisioner = getattr(client.km, "provisioner", None)
        pgid = getattr(provisioner, "pgid", None)
        if pgid:
            print(PGID_PREFIX + str(pgid), flush=True)

    class Client(NotebookClient):
        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            # Unix sockets in the notebook's own folder (mode 700) instead of
            # TCP ports on localhost, where any local user could knock.
            ipc = nb_path.parent / ".kernel"
            if os.name == "posix" and len(str(ipc)) < 80:
                km.transport, km.ip = "ipc", str(ipc)
            return km

        def output(self, outs, msg, display_id, cell_index):
            # Outputs are not kept: a notebook that prints without end must not
            # fill the checker's memory. Results come from the exercise log.
            return None

    def where() -> str:
        return f" in cell {current['index'] + 1}" if current["index"] is not None else " before the first cell"

    try:
        nb = nbformat.read(nb_path, as_version=4)
        if nb.metadata.get("kernelspec", {}).get("language", "python") not in ("python", ""):
            raise ValueError("not a Python notebook")
        client = Client(
            nb, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate",
            timeout_func=lambda cell: max(1, math.ceil(remaining())), startup_timeout=STARTUP,
            resources={"metadata": {"path": str(nb_path.parent)}},
            on_cell_execute=on_cell_execute, on_cell_error=on_cell_error, on_notebook_start=on_notebook_start,
        )
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (CellTimeoutError, TimeUp):
        report["note"] = f"timed out after {timeout:g} s{where()}; later cells did not run"
    except DeadKernelError:
        report["note"] = f"the kernel died{where()} (crash, exit or memory limit); later cells did not run"
    except Exception as exc:
        text = " ".join(str(exc).split())[:160]
        report["note"] = f"could not run the notebook: {type(exc).__name__}: {text}"
    report["seconds"] = round(time.monotonic() - begin, 2)
    print(RESULT_PREFIX + json.dumps(report), flush=True)
    return 0


# --------------------------------------------------------------------------- table

def find_submissions(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        found.append((path, rel.as_posix()))
    return found


def table_rows(results: list[Result], columns: list[str]) -> list[list[str]]:
    rows = []
    for r in results:
        statuses = [r.status(label) for label in columns]
        rows.append([r.submission, *statuses, str(statuses.count(PASS)), "; ".join(r.notes)])
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
        w.writerows(table_rows(results, columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run submitted notebooks in fresh kernels and tabulate PASS/FAIL/NOT DONE YET per exercise.")
    parser.add_argument("submissions", type=Path, nargs="?", help="folder of submitted .ipynb files (searched recursively)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook (default 120)")
    parser.add_argument("--csv", type=Path, help="CSV file to write (default: <SUBMISSIONS_DIR>-results.csv next to the folder)")
    parser.add_argument("--exercises", metavar="LIST",
                        help="comma-separated exercise labels or patterns for the columns, e.g. 'ex-01-*,ex-02-*' "
                             "(default: every exercise in nnlib.exercises.EXERCISES)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="notebooks checked at the same time (default 1)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                        help="auto: use bubblewrap if it works (default); bwrap: require it; none: do not use it")
    parser.add_argument("--memory-mb", type=int, default=4096,
                        help="address-space limit of each kernel in MiB (default 4096; 0: none)")
    parser.add_argument("--max-file-mb", type=int, default=256, help="largest file a notebook may write, MiB (default 256)")
    parser.add_argument("--support", type=Path, action="append",
                        help="file or folder copied next to each notebook (default: chapters/images); repeatable")
    parser.add_argument("--details", action="store_true", help="also print the checkers' detail for every FAIL")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-procs", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker is not None:
        return worker(args.worker, args.timeout, args.memory_mb, args.max_file_mb, args.max_procs)
    if args.submissions is None:
        parser.error("SUBMISSIONS_DIR is required")
    folder = args.submissions.resolve()
    if not folder.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout and --jobs must be positive")
    csv_path = args.csv if args.csv is not None else folder.parent / f"{folder.name}-results.csv"

    sandbox = False
    if args.sandbox != "none":
        ok, why = bwrap_works()
        if ok:
            sandbox = True
        elif args.sandbox == "bwrap":
            print(f"check_submissions: {why}", file=sys.stderr)
            return 2
        else:
            print(f"warning: {why}; the notebooks run WITHOUT a file-system sandbox: they can read and change "
                  "any file you can (see chapters/teaching.md)", file=sys.stderr)
    if not sandbox and hasattr(os, "getuid") and os.getuid() == 0:
        print("warning: running as root without a sandbox: a notebook can do anything on this machine",
              file=sys.stderr)

    support = args.support if args.support is not None else [p for p in [ROOT / "chapters" / "images"] if p.exists()]
    opts = Options(timeout=args.timeout, memory_mb=args.memory_mb, max_file_mb=args.max_file_mb, sandbox=sandbox,
                   support=[p.resolve() for p in support], hide=[folder])
    submissions = find_submissions(folder)
    if not submissions:
        print(f"no .ipynb files under {args.submissions}", file=sys.stderr)
        return 1
    known = known_exercises()

    mode = "bubblewrap sandbox" if sandbox else "no sandbox"
    print(f"Checking {len(submissions)} notebook(s), {args.timeout:g} s each at most, {mode}, "
          f"{args.jobs} at a time", file=sys.stderr)
    results: list[Result] = []
    lock = threading.Lock()

    def run(item):
        path, name = item
        r = check_one(path, name, opts)
        with lock:
            results.append(r)
            passed = sum(s == PASS for s, _ in r.statuses.values())
            note = f"  ({'; '.join(r.notes)})" if r.notes else ""
            print(f"[{len(results)}/{len(submissions)}] {name}: {passed} PASS in the log, "
                  f"{r.seconds:.1f} s{note}", file=sys.stderr, flush=True)
        return r

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        list(pool.map(run, submissions))
    except KeyboardInterrupt:
        # Stop at once: kill the running checks (their kernels follow within a second).
        pool.shutdown(wait=False, cancel_futures=True)
        with _running_lock:
            for pid in list(_running):
                _kill_group(pid)
        print("interrupted", file=sys.stderr)
        return 130
    pool.shutdown()

    results.sort(key=lambda r: r.submission)
    seen = []
    for r in results:
        seen += [label for label in r.statuses if label not in seen]
    columns = select_columns(args.exercises, known, seen)
    if not args.exercises:
        unknown = [label for label in seen if label not in columns]
        if unknown:
            print("note: labels in the logs that are not in nnlib.exercises.EXERCISES (ignored): "
                  + ", ".join(unknown), file=sys.stderr)
    print(format_table(results, columns))
    if args.details:
        for r in results:
            for label in columns:
                status, detail = r.statuses.get(label, (NOT_DONE, ""))
                if status == FAIL:
                    print(f"{r.submission}  {label}: FAIL - {detail}")
    write_csv(csv_path, results, columns)
    print(f"wrote {csv_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
