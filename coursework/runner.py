"""The two programs the class checker runs inside the sandbox (never outside it).

    python -I -m coursework.runner notebook NOTEBOOK --timeout S [--cell-timeout S] --answers DIR [limits]
    python -I -m coursework.runner serve DIR [limits]

``notebook`` runs a student's notebook top to bottom in a fresh kernel (a
cell that raises does not stop it; a cell that runs past the time left is
interrupted and the rest skipped). After every cell it asks the kernel for
the answer functions of every exercise (by the names in the registry) that
changed, and at the end for all of them, and writes each exercise's
answers, pickled by value with cloudpickle, to DIR/<label>.pkl: a kernel
that dies or hangs later keeps the answers it had.
It prints one line starting with ``COURSEWORK-NOTEBOOK`` with what happened
(cells that raised, time-out, dead kernel). None of this decides a grade.

``serve`` answers calls. It reads requests from stdin, one frame each (a
4-byte length, then JSON): ``{"label", "name", "args"}`` with the arguments
as plain data (:mod:`coursework.protocol`). For every request it forks a
fresh child, which loads the exercise's answers from DIR, calls the one
named under :func:`coursework.guard.watch` and sends back the result, the
arguments as the call left them, the warnings and what the watch saw. The
child's stdout and stderr go nowhere; frames go to a descriptor of their own.
A child that dies, or a frame that is not one, is reported as such, and the
grader in its own process decides what the returned values are worth.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import struct
import sys
import time
import warnings
from pathlib import Path
from typing import Any

NOTEBOOK_PREFIX = "COURSEWORK-NOTEBOOK "
MAX_FRAME = 256 * 1024 * 1024
STARTUP = 60  # seconds a kernel may take to start (not counted in the time limit)


# --------------------------------------------------------------------------- limits

def apply_limits(cpu_seconds: float, memory_mb: int, max_file_mb: int, max_procs: int) -> None:
    """Resource limits for this process and everything it starts (inherited)."""
    import resource

    def limit(name: str, value: int) -> None:
        which = getattr(resource, name, None)
        if which is None or value <= 0:
            return
        try:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    limit("RLIMIT_AS", memory_mb * 1024 * 1024)
    limit("RLIMIT_CPU", int(cpu_seconds))
    limit("RLIMIT_FSIZE", max_file_mb * 1024 * 1024)
    limit("RLIMIT_CORE", 1)  # 0 would be skipped above; 1 byte is no core dump either
    limit("RLIMIT_NPROC", max_procs)


def _die_with_parent() -> None:
    """Linux: this process is killed when the one that started it dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --------------------------------------------------------------------------- notebook

# Run in the kernel before the first cell: a function that saves the answers defined so far.
# After every cell it saves those that changed (so that a later crash or hang keeps them),
# and at the end all of them again (with the globals they use as they are then).
HELPER = r'''
def __coursework_save(final=False, _saved={}):
    import os, cloudpickle
    namespace = globals()
    os.makedirs(FOLDER, exist_ok=True)
    for label, names in WANTED.items():
        functions = tuple(namespace.get(name) for name in names)
        if not all(callable(f) for f in functions):
            continue
        key = tuple(id(f) for f in functions)
        if not final and _saved.get(label) == key:
            continue
        try:
            data = cloudpickle.dumps(functions)
        except Exception:
            continue
        with open(os.path.join(FOLDER, label + ".pkl"), "wb") as fh:
            fh.write(data)
        _saved[label] = key
'''
SNAPSHOT = "__coursework_save()"
FINAL = "__coursework_save(final=True)"


def _kill_strays(keep: set[int], everything: bool) -> None:
    """End the processes a notebook left running: the kernel's descendants, and with ``everything``
    (inside the sandbox's own PID namespace) every process but ``keep`` and the namespace's init."""
    for _ in range(20):
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as fh:
                        parents[int(entry)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        doomed = set()
        for pid in parents:
            if pid in keep or pid == 1:
                continue
            ancestor, seen = pid, 0
            while ancestor in parents and seen < 64:
                ancestor, seen = parents[ancestor], seen + 1
                if ancestor in keep - {os.getpid()}:
                    doomed.add(pid)
                    break
            if everything:
                doomed.add(pid)
        if not doomed:
            return
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def run_notebook(nb_path: Path, timeout: float, answers: Path, sandboxed: bool = False,
                 cell_timeout: float | None = None) -> dict[str, Any]:
    """Run the notebook, saving its answers as it goes; return what happened (for the notes).

    ``timeout`` bounds the whole notebook; ``cell_timeout`` each cell: a cell past it is
    interrupted and the run goes on with the next one, so that one endless loop costs one
    cell's time, not the exercises after it.
    """
    from ipykernel.kernelspec import get_kernel_dict

    from .registry import EXERCISES

    spec_dir = nb_path.parent / ".checker-kernels"
    (spec_dir / "kernels" / "python3").mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernels" / "python3" / "kernel.json").write_text(json.dumps(get_kernel_dict()))
    os.environ["JUPYTER_PATH"] = str(spec_dir)
    # jsonschema (imported by nbformat) loads the optional rfc3987_syntax format checker
    # when it is installed, which takes seconds; notebooks are not validated against it.
    sys.modules.setdefault("rfc3987_syntax", None)
    import subprocess
    import threading

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    report: dict[str, Any] = {"note": None, "errors": [], "interrupted": [], "slowest": None}
    cell_timeout = min(cell_timeout or timeout, timeout)
    start = time.monotonic()
    deadline = start + timeout
    timed_out = {"flag": False}

    class Client(NotebookClient):
        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            ipc = nb_path.parent / ".kernel"   # Unix sockets in the private folder, not TCP ports
            if os.name == "posix" and len(str(ipc)) < 80:
                km.transport, km.ip = "ipc", str(ipc)
            return km

        def output(self, outs, msg, display_id, cell_index):
            return None   # outputs are not kept: a notebook that prints without end must not fill memory

        async def _async_handle_timeout(self, timeout, cell=None):
            timed_out["flag"] = True
            return await super()._async_handle_timeout(timeout, cell)

    def on_cell_error(cell, cell_index, execute_reply):
        content = execute_reply.get("content", {})
        if cell_index >= scratch or content.get("ename") == "CellTimeoutError" \
                or "raises-exception" in cell.get("metadata", {}).get("tags", []):
            return
        message = " ".join(f"{content.get('ename', 'Error')}: {content.get('evalue', '')}".split())
        report["errors"].append({"cell": cell_index + 1, "error": message[:120]})

    try:
        nb = nbformat.read(nb_path, as_version=4)
        if nb.metadata.get("kernelspec", {}).get("language", "python") not in ("python", ""):
            raise ValueError("not a Python notebook")
    except Exception as exc:
        report["note"] = f"could not read the notebook: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
        return report

    # On a time-out the kernel is interrupted and the run moves on at once (a cell that ignores
    # the interrupt must not hold the run); the snapshots already saved keep the answers.
    client = Client(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                    error_on_timeout={"ename": "CellTimeoutError", "evalue": "time is up", "traceback": []},
                    shutdown_kernel="immediate", startup_timeout=STARTUP,
                    timeout_func=lambda cell: max(1, math.ceil(deadline - time.monotonic())),
                    resources={"metadata": {"path": str(nb_path.parent)}}, on_cell_error=on_cell_error)
    wanted = {label: list(entry.answers) for label, entry in EXERCISES.items()}
    helper = HELPER.replace("WANTED", repr(wanted)).replace("FOLDER", repr(str(answers)))

    # The checker's own cells run in a scratch cell after the notebook's (nbclient writes
    # into the notebook's list at the index it is given).
    cells = list(nb.cells)
    scratch = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(""))

    def quick(source: str, budget: float) -> bool:
        """Run a cell of the checker's in the kernel; False if it did not finish in ``budget`` seconds."""
        nonlocal deadline
        deadline = time.monotonic() + budget
        timed_out["flag"] = False
        nb.cells[scratch] = nbformat.v4.new_code_cell(source)
        client.execute_cell(nb.cells[scratch], scratch)
        return not timed_out["flag"]

    current = None
    keep: set[int] = set()

    def reaper() -> None:
        # Started before any cell runs (a fork storm may leave no room for a new thread later):
        # once a cell is past its time, whatever the kernel started is ended, again and again.
        while True:
            time.sleep(0.25)
            if keep and time.monotonic() > deadline:
                _kill_strays(keep, everything=sandboxed)

    threading.Thread(target=reaper, daemon=True).start()
    try:
        # The kernel's own stdout and stderr go nowhere: only this process's report line counts.
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            kernel_pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            if kernel_pid:
                keep.update({os.getpid(), int(kernel_pid)})
            quick(helper, 30)
            start = time.monotonic()   # the time limit counts from the moment the kernel is ready
            responsive = True
            for index, cell in enumerate(cells):
                if cell.cell_type != "code":
                    continue
                current = index
                began = time.monotonic()
                deadline = min(start + timeout, began + cell_timeout)
                timed_out["flag"] = False
                client.execute_cell(cell, index)
                took = time.monotonic() - began
                if report["slowest"] is None or took > report["slowest"]["seconds"]:
                    report["slowest"] = {"cell": index + 1, "seconds": round(took, 2)}
                if time.monotonic() >= start + timeout:
                    report["note"] = (f"timed out after {timeout:g} s in cell {index + 1}; "
                                      "later cells did not run")
                    report["stopped"] = {"how": "timed out", "cell": index + 1}
                    break
                interrupted = timed_out["flag"]
                if interrupted:   # past its own limit: interrupted, and the run goes on
                    report["interrupted"].append(index + 1)
                    if keep:
                        _kill_strays(keep, everything=sandboxed)
                if not quick(SNAPSHOT, 5 if interrupted else 20):
                    responsive = False
                    if interrupted:
                        report["note"] = (f"cell {index + 1} did not stop when interrupted after "
                                          f"{cell_timeout:g} s; later cells did not run")
                        report["stopped"] = {"how": "timed out", "cell": index + 1}
                    break
            current = None
            if keep:
                _kill_strays(keep, everything=sandboxed)
            if responsive and not quick(FINAL, 5 if report["note"] else 20) and not report["note"]:
                report["note"] = "its answers could not all be collected in time"
    except (CellTimeoutError, TimeoutError):
        report["note"] = report["note"] or "timed out"
        report.setdefault("stopped", {"how": "timed out", "cell": current + 1 if current is not None else None})
    except DeadKernelError:
        where = f" in cell {current + 1}" if current is not None else ""
        report["note"] = f"the kernel died{where} (crash, exit or memory limit); later cells did not run"
        if current is not None:
            report["stopped"] = {"how": "died", "cell": current + 1}
    except Exception as exc:
        report["note"] = f"could not run the notebook: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    report["seconds"] = round(time.monotonic() - start, 2)
    return report


# --------------------------------------------------------------------------- serve

def read_frame(stream: Any) -> bytes | None:
    head = stream.read(4)
    if not head:
        return None
    if len(head) != 4:
        raise EOFError("a truncated frame")
    (size,) = struct.unpack(">I", head)
    if size > MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes")
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("a truncated frame")
    return data


def write_frame(fd: int, payload: bytes) -> None:
    data = struct.pack(">I", len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _call_answer(request: dict[str, Any], folder: Path, workdir: Path) -> dict[str, Any]:
    """In the child: load the answers, call one under the watch, describe what came back."""
    from . import protocol
    from ._checking import answer_line
    from .guard import ForbiddenCall, watch
    from .registry import EXERCISES

    entry = EXERCISES[str(request["label"])]
    name = str(request["name"])
    args = [protocol.decode(a) for a in request["args"]]
    # Files travel with the call: each ExerciseFile argument becomes a path in this call's folder.
    files = dict(request.get("files") or {})
    local_args = []
    for a in args:
        if isinstance(a, protocol.ExerciseFile):
            local = workdir / Path(str(a)).name
            content = files.get(str(a))
            if content is not None:
                local.write_bytes(protocol.decode(content))
            local_args.append(str(local))
        else:
            local_args.append(a)
    response: dict[str, Any] = {"warnings": [], "fp_errors": [], "forbidden": [], "silenced": [], "tampered": []}
    import cloudpickle
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ResourceWarning)
        returned = False
        raised = None
        with watch(entry.forbidden) as record:
            try:
                with open(folder / f"{entry.label}.pkl", "rb") as fh:
                    functions = cloudpickle.load(fh)
                func = dict(zip(entry.answers, functions))[name]
                result = func(*local_args)
                returned = True
            except ForbiddenCall as exc:
                response["raised"] = {"type": "ForbiddenCall", "message": str(exc)[:300]}
            except NotImplementedError as exc:
                response["raised"] = {"type": "NotImplementedError", "message": str(exc)[:300]}
            except BaseException as exc:  # noqa: BLE001 - everything the answer raises is reported
                response["raised"] = {"type": type(exc).__name__, "message": str(exc)[:300]}
                raised = exc
    if raised is not None:   # outside the watch, which forbids the checker's own code
        where = answer_line(raised)   # the function and the line in its cell (the source stays behind)
        if where:
            response["raised"]["line"] = [where[0][:80], where[1]]
    if returned:
        try:
            response["result"] = protocol.encode(result)
        except protocol.ProtocolError as exc:
            response["result"] = {"$": "opaque", "type": f"value the checker cannot take ({exc})"[:80]}
    response.update(forbidden=record.forbidden[:5], fp_errors=record.fp_errors[:5],
                    silenced=record.silenced[:5], tampered=record.tampered[:5],
                    warnings=[[w.category.__name__, str(w.message)[:300]] for w in caught[:5]])
    # The arguments as the call left them (an answer may change them in place), and the files.
    after = []
    back_files = {}
    for original, a in zip(args, local_args):
        if isinstance(original, protocol.ExerciseFile):
            path = Path(a)
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= protocol.MAX_FILE_BYTES:
                back_files[str(original)] = protocol.encode(path.read_bytes())
            after.append(None)
        else:
            try:
                after.append(protocol.encode(a))
            except protocol.ProtocolError:
                after.append(None)
    response["args_after"] = after
    response["files"] = back_files
    return response


def serve(folder: Path, labels: list[str]) -> int:
    """Answer call requests from stdin until it closes; one fresh child per call.

    ``labels``: the exercises that will be called, whose forbidden SciPy and
    scikit-learn modules are imported now, before the first call's clock starts.
    """
    out_fd = os.dup(1)
    os.set_inheritable(out_fd, False)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # Everything an answer may use is imported before any answer is loaded.
    import cloudpickle  # noqa: F401
    import numpy  # noqa: F401

    import nnlib  # noqa: F401

    from .registry import EXERCISES
    imported: set[str] = set()

    def import_forbidden(label: str) -> None:
        """Import the modules of an exercise's forbidden SciPy/scikit-learn functions, once, before any fork."""
        entry = EXERCISES.get(label)
        for dotted in entry.forbidden if entry else ():
            module = ".".join(dotted.split(".")[:2])
            if dotted.split(".")[0] in ("scipy", "sklearn") and module not in imported:
                imported.add(module)
                try:
                    __import__(module)
                except ImportError:
                    pass

    for label in labels:
        import_forbidden(label)
    write_frame(out_fd, b'{"ready": true}')
    stdin = sys.stdin.buffer
    counter = 0
    while True:
        try:
            frame = read_frame(stdin)
        except (EOFError, ValueError):
            return 2
        if frame is None:
            return 0
        counter += 1
        try:
            import_forbidden(str(json.loads(frame).get("label")))
        except (ValueError, AttributeError):
            pass
        workdir = Path.cwd() / f"call-{counter}"
        workdir.mkdir()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one call, then gone
            os.close(read_end)
            os.close(out_fd)   # the answer has no business with the grader's channel
            try:
                os.chdir(workdir)
                request = json.loads(frame)
                payload = json.dumps(_call_answer(request, folder, workdir))
            except BaseException as exc:  # noqa: BLE001
                payload = json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            try:
                write_frame(write_end, payload.encode())
            finally:
                os._exit(0)
        os.close(write_end)
        broken = False
        with os.fdopen(read_end, "rb") as pipe:
            try:
                data = read_frame(pipe)
            except (EOFError, ValueError):
                data, broken = None, True
        if data is not None:
            try:
                if not isinstance(json.loads(data), dict):
                    raise ValueError("not an object")
            except ValueError:
                data, broken = None, True
        try:
            os.kill(pid, signal.SIGKILL)   # whatever it still does, the call is over
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        if data is None and broken:
            data = json.dumps({"error": "the process that called the answer replied with garbage",
                               "tampered": ["the answer wrote over the channel that carries its result"]}).encode()
        elif data is None:
            why = "it was killed" if os.WIFSIGNALED(status) else f"it exited with code {os.waitstatus_to_exitcode(status)}"
            data = json.dumps({"error": f"the process that called the answer gave no reply ({why})"}).encode()
        write_frame(out_fd, data)


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursework.runner", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nb = sub.add_parser("notebook")
    nb.add_argument("notebook", type=Path)
    nb.add_argument("--timeout", type=float, required=True)
    nb.add_argument("--cell-timeout", type=float, default=None)
    nb.add_argument("--answers", type=Path, required=True)
    nb.add_argument("--sandboxed", action="store_true", help="inside bubblewrap's own PID namespace")
    sv = sub.add_parser("serve")
    sv.add_argument("answers", type=Path)
    sv.add_argument("--labels", default="", help="comma-separated exercises that will be called")
    for p in (nb, sv):
        p.add_argument("--cpu-seconds", type=float, default=600)
        p.add_argument("--memory-mb", type=int, default=4096)
        p.add_argument("--max-file-mb", type=int, default=256)
        p.add_argument("--max-procs", type=int, default=0)
    args = parser.parse_args(argv)
    _die_with_parent()
    apply_limits(args.cpu_seconds, args.memory_mb, args.max_file_mb, args.max_procs)
    if args.command == "serve":
        return serve(args.answers, [label for label in args.labels.split(",") if label])
    report = run_notebook(args.notebook, args.timeout, args.answers, args.sandboxed, args.cell_timeout)
    print(NOTEBOOK_PREFIX + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
