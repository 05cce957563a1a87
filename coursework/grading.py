"""Grading one submitted notebook: every verdict computed in the grader's own process.

1. The notebook runs, sandboxed, in a fresh kernel (:mod:`coursework.runner`,
   ``notebook``); at the end the kernel hands over each exercise's answer
   functions, pickled. Nothing the notebook prints, logs or writes is read
   as a result; the pickles are only ever loaded inside a sandbox.
2. For each exercise the teacher's copy of its checker runs here, in this
   process, on hidden cases drawn afresh for this run. Where the checker
   calls the student's function, it calls a :class:`RemoteAnswer`: the
   arguments go as plain data to a second sandbox (``serve``), where a fresh
   process calls the answer under :func:`coursework.guard.watch`; the result
   comes back as plain data (:mod:`coursework.protocol`), and the checker
   judges it as it would in the notebook.

A reply that is not plain data, a channel that carries garbage, or a watch
that saw the answer change the grading machinery gives the exercise the
status TAMPERED; a call that does not return in time is a FAIL.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import protocol
from ._checking import AnswerStopped, hidden_cases_salt
from . import notebook_map
from .protocol import (ERROR, FAIL, MISSING, NOT_DONE, NOT_RUN, SYNTAX_ERROR, TAMPERED, TIMED_OUT, UNREADABLE,
                       Verdict)
from .registry import EXERCISES, Exercise
from .runner import NOTEBOOK_PREFIX, read_frame
from .sandbox import Limits, Sandbox, rmtree

MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_OUTPUT_BYTES = 4 * 1024 * 1024
STARTUP = 60.0          # seconds a kernel may take to start (not counted in the time limit)
EXTRACT = 40.0          # seconds for handing over the answers at the end


@dataclass
class Options:
    timeout: float = 120.0          # the notebook's cells together, seconds
    cell_timeout: float | None = None   # one cell, seconds (None: the notebook's timeout)
    call_timeout: float = 20.0      # one call of an answer, seconds
    limits: Limits = field(default_factory=Limits)
    bwrap: bool = True
    support: list[Path] = field(default_factory=list)
    hide: list[Path] = field(default_factory=list)
    salt: int | None = None         # None: a new one per notebook


@dataclass
class Result:
    """One submission's verdicts and notes.

    ``verdicts`` holds the exercises the notebook contains (a check cell or an
    answer of theirs); an exercise it does not contain has no verdict.
    """

    submission: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unreadable: bool = False
    written: dict[str, str] = field(default_factory=dict)   # label -> written answer (coursework.written)
    slowest: tuple[int, float] | None = None                 # (cell, seconds) of the slowest cell
    timed_out: bool = False    # the run ran out of time, or a cell was interrupted (--rerun-timed-out)

    def status(self, label: str) -> str:
        verdict = self.verdicts.get(label)
        if verdict is not None:
            return verdict.status
        return UNREADABLE if self.unreadable else ""


class Tampering(Exception):
    """The answer's process answered with something that is not the protocol."""


# --------------------------------------------------------------------------- the answer server

class AnswerServer:
    """The sandbox that calls a submission's answers; started on first use, restarted after a time-out."""

    def __init__(self, answers: Path, opts: Options, labels: list[str]) -> None:
        self.answers = answers
        self.opts = opts
        self.labels = labels
        self.sandbox: Sandbox | None = None
        self.workdir: Path | None = None
        self.calls = 0

    def _start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="coursework-answers-")).resolve()
        copy = self.workdir / "answers"
        shutil.copytree(self.answers, copy)
        self.sandbox = Sandbox(self.workdir, self.opts.limits, self.opts.bwrap, self.opts.hide)
        proc = self.sandbox.start(["serve", str(copy), "--labels", ",".join(self.labels)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # Wait for "ready" (imports done) before any answer's clock starts.
        box: dict[str, Any] = {}
        reader = threading.Thread(target=lambda: box.setdefault("frame", read_frame(proc.stdout)), daemon=True)
        reader.start()
        reader.join(STARTUP)
        if box.get("frame") != b'{"ready": true}':
            self.stop()
            raise AnswerStopped("could not be called: the sandbox that calls the answers did not start")

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None
        if self.workdir is not None:
            rmtree(self.workdir)
            self.workdir = None

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request; the reply as a dict, or AnswerStopped / Tampering."""
        if self.sandbox is None:
            self._start()
        assert self.sandbox is not None and self.sandbox.proc is not None
        proc = self.sandbox.proc
        payload = json.dumps(request).encode()
        box: dict[str, Any] = {}

        def exchange() -> None:
            try:
                proc.stdin.write(len(payload).to_bytes(4, "big") + payload)
                proc.stdin.flush()
                box["frame"] = read_frame(proc.stdout)
            except BaseException as exc:  # noqa: BLE001 - reported below
                box["error"] = exc

        worker = threading.Thread(target=exchange, daemon=True)
        worker.start()
        worker.join(self.opts.call_timeout)
        self.calls += 1
        memory = self.sandbox.memory_exceeded()
        if memory or worker.is_alive():
            self.stop()
            if memory:
                raise AnswerStopped(f"went over the memory limit of {self.opts.limits.memory_mb} MiB")
            raise AnswerStopped(f"did not return within {self.opts.call_timeout:g} s")
        if "error" in box or box.get("frame") is None:
            self.stop()
            raise Tampering("the process that calls the answers ended or broke its channel")
        try:
            reply = json.loads(box["frame"])
            if not isinstance(reply, dict):
                raise ValueError("not an object")
        except ValueError:
            self.stop()
            raise Tampering("the answer's process replied with something that is not the protocol") from None
        return reply


class RemoteAnswer:
    """Stands in, in the grader's process, for one answer function that runs in the sandbox."""

    remote_answer = True

    def __init__(self, server: AnswerServer, entry: Exercise, name: str, tampering: list[str]) -> None:
        self.server = server
        self.entry = entry
        self.name = name
        self.tampering = tampering   # shared by the exercise's answers: what the watches reported

    def __call__(self, *args: Any) -> Any:
        files = {}
        for a in args:
            if isinstance(a, protocol.ExerciseFile) and Path(a).is_file():
                files[str(a)] = protocol.encode(Path(a).read_bytes())
        request = {"label": self.entry.label, "name": self.name,
                   "args": [protocol.encode(a) for a in args], "files": files}
        try:
            reply = self.server.call(request)
        except Tampering as exc:
            self.tampering.append(str(exc))
            raise
        for what in (reply.get("tampered") or [])[:5]:
            self.tampering.append(str(what)[:200])
        if "error" in reply:
            # The child died or broke: the answer's doing (os._exit, a signal, a crash).
            raise RuntimeError(str(reply["error"])[:200])
        try:
            self._apply_after(args, reply)
            forbidden = reply.get("forbidden") or []
            if forbidden:
                from .guard import ForbiddenCall
                raise ForbiddenCall(str(forbidden[0])[:200])
            for message in (reply.get("fp_errors") or [])[:5]:
                warnings.warn(str(message)[:300], RuntimeWarning, stacklevel=2)
            for category, message in (reply.get("warnings") or [])[:5]:
                cls = {"RuntimeWarning": RuntimeWarning, "DeprecationWarning": DeprecationWarning}.get(
                    str(category), UserWarning)
                warnings.warn(str(message)[:300], cls, stacklevel=2)
            raised = reply.get("raised")
            if raised:
                exc = _exception(str(raised.get("type", "Exception")), str(raised.get("message", ""))[:300])
                line = raised.get("line")
                if isinstance(line, list) and len(line) == 2 and isinstance(line[1], int):
                    exc.answer_line = (str(line[0])[:80], line[1], "")
                raise exc
            if "result" not in reply:
                raise protocol.ProtocolError("no result")
            return protocol.decode(reply["result"])
        except protocol.ProtocolError as exc:
            self.tampering.append(f"the reply is not plain data ({exc})")
            raise Tampering(str(exc)) from None

    def _apply_after(self, args: tuple[Any, ...], reply: dict[str, Any]) -> None:
        """Give the checker's own arguments the state the call left them in (arrays, models, generators, files)."""
        import numpy as np
        after = reply.get("args_after") or []
        for original, state in zip(args, after):
            if state is None:
                continue
            value = protocol.decode(state)
            if isinstance(original, np.ndarray) and isinstance(value, np.ndarray) \
                    and value.shape == original.shape:
                np.copyto(original, value, casting="unsafe")
            elif isinstance(original, np.random.Generator) and isinstance(value, np.random.Generator):
                original.bit_generator.state = value.bit_generator.state
            elif type(original).__name__ == "Model" and type(value).__name__ == "Model":
                for layer, new in zip(original.layers, getattr(value, "layers", [])):
                    for store in ("params", "grads"):
                        for key, array in getattr(layer, store, {}).items():
                            source = getattr(new, store, {}).get(key)
                            if source is not None and source.shape == array.shape:
                                array[...] = source
            elif isinstance(original, list) and isinstance(value, list):
                original[:] = value
        for path, content in (reply.get("files") or {}).items():
            if path in {str(a) for a in args if isinstance(a, protocol.ExerciseFile)}:
                Path(path).write_bytes(protocol.decode(content))


def _exception(type_name: str, message: str) -> BaseException:
    """An exception whose type has the name the answer's exception had (for the checker's message)."""
    if type_name == "NotImplementedError":
        return NotImplementedError(message)
    safe = type_name if type_name.isidentifier() and len(type_name) <= 60 else "Exception"
    return type(safe, (Exception,), {})(message)


# --------------------------------------------------------------------------- one submission

def run_notebook(path: Path, opts: Options, answers: Path) -> dict[str, Any]:
    """Run the notebook in its sandbox; what the runner reported (notes only), and the answers folder."""
    workdir = Path(tempfile.mkdtemp(prefix="coursework-notebook-")).resolve()
    report: dict[str, Any] = {}
    try:
        for support in opts.support:
            if support.is_dir():
                shutil.copytree(support, workdir / support.name, dirs_exist_ok=True, symlinks=False)
            elif support.is_file():
                shutil.copy2(support, workdir / support.name)
        target = workdir / "submission.ipynb"
        shutil.copyfile(path, target, follow_symlinks=False)
        inside = workdir / "answers"
        sandbox = Sandbox(workdir, opts.limits, opts.bwrap, opts.hide)
        proc = sandbox.start(["notebook", str(target), "--timeout", str(opts.timeout), "--answers", str(inside)]
                             + (["--cell-timeout", str(opts.cell_timeout)] if opts.cell_timeout else [])
                             + (["--sandboxed"] if opts.bwrap else []),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = b""
        try:
            out, _ = proc.communicate(timeout=opts.timeout + STARTUP + EXTRACT)
        except subprocess.TimeoutExpired:
            report["note"] = f"stopped: still running {opts.timeout + STARTUP + EXTRACT:.0f} s after the start"
        finally:
            memory = sandbox.memory_exceeded()
            sandbox.close()
        out = out[-MAX_OUTPUT_BYTES:]
        for line in out.decode("utf-8", errors="replace").splitlines():
            if line.startswith(NOTEBOOK_PREFIX):
                try:
                    found = json.loads(line[len(NOTEBOOK_PREFIX):])
                    if isinstance(found, dict):
                        report = {**found, **report}
                except ValueError:
                    pass
        if memory:
            report["note"] = "stopped: its processes together went over the memory limit"
        elif "seconds" not in report and "note" not in report:
            report["note"] = f"the notebook's run ended without a report (exit code {proc.returncode})"
        # The answers: regular files with an exercise's name only, copied out before the folder goes.
        answers.mkdir(parents=True, exist_ok=True)
        if inside.is_dir() and not inside.is_symlink():
            for label in EXERCISES:
                src = inside / f"{label}.pkl"
                if src.is_file() and not src.is_symlink() and src.stat().st_size <= MAX_ANSWER_BYTES:
                    shutil.copyfile(src, answers / src.name, follow_symlinks=False)
    finally:
        rmtree(workdir)
    return report


def _without_answer(label: str, place: notebook_map.Place, stopped: dict[str, Any],
                    interrupted: list[int]) -> Verdict:
    """The verdict of an exercise whose answer never reached the grader, saying why and where."""
    names = " and ".join(EXERCISES[label].answers)
    if place.syntax_error:
        return Verdict(label, SYNTAX_ERROR, f"{place.syntax_error}; {names} is not defined")
    cell = place.answer_cell
    if cell is not None and cell in interrupted:
        return Verdict(label, TIMED_OUT, f"cell {cell}, which should define {names}, ran past the time a cell "
                                         "may take and was interrupted")
    if stopped.get("how") == "ended":
        where = f" (cell {cell})" if cell is not None else ""
        return Verdict(label, NOT_RUN, f"the notebook's run ended before {names}{where} was defined")
    stop_cell = stopped.get("cell") if isinstance(stopped.get("cell"), int) else None
    if cell is not None and stop_cell is not None and cell >= stop_cell:
        if stopped.get("how") == "timed out":
            return Verdict(label, TIMED_OUT, f"the notebook ran out of time in cell {stop_cell}, before {names} "
                                             f"(cell {cell}) was defined")
        return Verdict(label, NOT_RUN, f"the kernel died in cell {stop_cell}, before {names} (cell {cell}) was "
                                       "defined")
    if cell is not None:
        return Verdict(label, ERROR, f"cell {cell}, which should define {names}, raised an error")
    return Verdict(label, MISSING, f"the notebook calls the check of {label} but defines no {names}")


def _where_notes(place: notebook_map.Place) -> list[str]:
    notes = []
    if place.check_cell is None:
        notes.append("its check cell was deleted (the grade does not need it)")
    elif place.answer_cell is not None and place.answer_cell > place.check_cell:
        notes.append(f"the answer (cell {place.answer_cell}) is below its check cell (cell {place.check_cell})")
    return notes


_RAISED = re.compile(r"^\w+ raised \w")
_VERDICT_ASSERTION = re.compile(r"^AssertionError: ex-\d\d-[a-z0-9-]+: ")
# IPython compiles each cell under a temporary file name: "(112159990.py, line 1)" says "(line 1)" to a student.
_CELL_FILE_IN_ERROR = re.compile(r"\((?:\d+\.py|<ipython-input-[^>]*>), line (\d+)\)")


def grade(path: Path, name: str, opts: Options, labels: list[str] | None = None) -> Result:
    """Run one notebook and judge the answers of every exercise it contains (of those in ``labels``)."""
    result = Result(name)
    start = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="coursework-grade-")).resolve()
    server = None
    try:
        try:
            places = notebook_map.read(path).places
        except notebook_map.UnreadableNotebook as exc:
            result.unreadable = True
            result.notes.append(f"unreadable: {exc}")
            return result
        wanted = [label for label in EXERCISES if (labels is None or label in labels) and label in places]
        answers = scratch / "answers"
        report = run_notebook(path, opts, answers)
        if report.get("note"):
            result.notes.append(str(report["note"]))
        errors = [e for e in report.get("errors") or [] if isinstance(e, dict)]
        # nbgrader's test cells (python -m coursework.nbgrader_export) assert that the check says
        # PASS: their AssertionError repeats a verdict, it is not an error of the student's code.
        check_cells = {place.check_cell for place in places.values()}
        errors = [e for e in errors if not (e.get("cell") in check_cells
                                            and _VERDICT_ASSERTION.match(str(e.get("error"))))]
        if errors:
            first = errors[0]
            s = "s" if len(errors) > 1 else ""
            error = _CELL_FILE_IN_ERROR.sub(r"(line \1)", str(first.get("error")))
            result.notes.append(f"{len(errors)} cell{s} raised an error (first: cell {first.get('cell')}, {error})")
        stopped = report.get("stopped") if isinstance(report.get("stopped"), dict) else {}
        interrupted = [c for c in report.get("interrupted") or [] if isinstance(c, int)]
        result.timed_out = stopped.get("how") == "timed out" or bool(interrupted)
        went_on = [c for c in interrupted if c != stopped.get("cell")]   # not the one that would not stop
        if went_on:
            cells = ", ".join(map(str, went_on[:5])) + (", ..." if len(went_on) > 5 else "")
            s = "s" if len(went_on) > 1 else ""
            result.notes.append(f"cell{s} {cells} ran past {opts.cell_timeout:g} s and "
                                f"{'were' if s else 'was'} interrupted; the run went on")
        slowest = report.get("slowest")
        if isinstance(slowest, dict) and isinstance(slowest.get("seconds"), (int, float)):
            result.slowest = (int(slowest.get("cell") or 0), float(slowest["seconds"]))
        if "seconds" not in report:   # the run ended without its report (killed, or it killed itself)
            stopped = {"how": "ended"}
        salt = opts.salt if opts.salt is not None else secrets.randbits(62)
        graded = [label for label in wanted if (answers / f"{label}.pkl").is_file()]
        server = AnswerServer(answers, opts, graded)
        for label in wanted:
            entry, place = EXERCISES[label], places[label]
            if label not in graded:
                verdict = _without_answer(label, place, stopped, interrupted)
            else:
                tampering: list[str] = []
                stand_ins = [RemoteAnswer(server, entry, n, tampering) for n in entry.answers]
                with hidden_cases_salt(salt):
                    verdict = entry.judge(*stand_ins)
                if tampering:
                    verdict = Verdict(label, TAMPERED, "the answer tried to change how it is graded: "
                                      + tampering[0], verdict.hints)
                elif verdict.status == FAIL and _RAISED.match(verdict.detail):
                    verdict = Verdict(label, ERROR, verdict.detail, verdict.hints)
                elif verdict.status == NOT_DONE:   # the check cell's advice, said for a grade
                    verdict = Verdict(label, NOT_DONE, verdict.detail.split(";")[0] + ", as handed out",
                                      verdict.hints)
            verdict.hints = verdict.hints + _where_notes(place)
            result.verdicts[label] = verdict
    except Exception as exc:  # one broken submission never stops the run
        result.notes.append(f"could not be checked: {type(exc).__name__}: {exc}")
    finally:
        if server is not None:
            server.stop()
        rmtree(scratch)
        result.seconds = time.monotonic() - start
    return result


__all__ = ["Options", "Result", "grade", "FAIL"]
