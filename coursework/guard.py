"""Watching one call of a reader's answer: library functions it must not use, warnings it may not hide.

Two exercise rules need more than comparing results:

* *Write it yourself.* An exercise that asks for a sigmoid, a softmax or a
  Dense layer's backward pass is not answered by calling ``nnlib``'s (or
  SciPy's, or scikit-learn's) version of it. :func:`watch` traces the call
  with :func:`sys.setprofile` and stops the answer with
  :class:`ForbiddenCall` the moment it enters one of the exercise's forbidden
  functions. Functions are recognised by their code (file, name, first
  line), so a copy of the function object obtained before the call, or a
  reloaded module, is recognised too. Forbidden objects that are not Python
  functions (NumPy ufuncs such as ``scipy.special.expit``) are replaced, for
  the duration of the call, in the module that defines them.
* *No overflow.* A warning counts as a failure, and hiding it does not make
  the answer right. During the call NumPy's floating-point errors go to a
  log object (``np.seterr(all="log")``), not through :mod:`warnings`, so
  warning filters cannot hide them; and ``np.errstate``, ``np.seterr`` and
  ``np.seterrcall`` called from the reader's own code do nothing (the attempt
  is recorded). Library code (NumPy, nnlib, ...) keeps its own settings.

The record says what happened; the checker turns it into a verdict. In the
class checker this runs inside the sandboxed process that calls the answer,
so a determined answer could switch the tracing off: that is recorded as
tampering when it is seen, and the values the answer returns are judged in
the grader's own process whatever the record says.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import sysconfig
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = ["ForbiddenCall", "Record", "watch", "resolve"]


class ForbiddenCall(Exception):
    """Raised inside an answer that calls a function the exercise asks the reader to write."""


@dataclass
class Record:
    """What :func:`watch` saw during one call."""

    forbidden: list[str] = field(default_factory=list)     # dotted names of forbidden functions entered
    fp_errors: list[str] = field(default_factory=list)     # "overflow encountered in exp", ...
    silenced: list[str] = field(default_factory=list)      # "np.errstate", ... called by the answer
    tampered: list[str] = field(default_factory=list)      # what the answer changed in the watch itself


def resolve(dotted: str) -> Any:
    """The object named by ``dotted`` ("pkg.module.name" or "pkg.module.Class.method"), or None.

    Only modules already imported are looked at, except nnlib's own.
    """
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        module = sys.modules.get(module_name)
        if module is None and module_name.split(".")[0] == "nnlib":
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
        if module is None:
            continue
        obj: Any = module
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _code_key(code: Any) -> tuple[str, str, int]:
    return (os.path.normcase(os.path.abspath(code.co_filename)), code.co_name, code.co_firstlineno)


def _library_dirs() -> tuple[str, ...]:
    dirs = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    for name in ("numpy", "nnlib", "coursework", "scipy", "sklearn"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.add(os.path.dirname(os.path.abspath(module.__file__)))
    return tuple(os.path.normcase(d) + os.sep for d in sorted(dirs) if d)


class _Log:
    """NumPy's error log during a call: ``np.seterr(all="log")`` writes its messages here."""

    def __init__(self, record: Record) -> None:
        self.record = record

    def write(self, message: str) -> None:
        text = message.strip()
        if text.startswith("Warning: "):
            text = text[len("Warning: "):]
        self.record.fp_errors.append(text)


#: The checkers' own code: an answer that calls into it (a checker's reference computation,
#: say) is answered by the checker, not by the reader. The watch's own stand-ins are exempt.
_OWN_DIR = os.path.normcase(os.path.dirname(os.path.abspath(__file__))) + os.sep
_OWN_EXEMPT = {os.path.normcase(os.path.abspath(__file__))}


@contextlib.contextmanager
def watch(forbidden: Sequence[str] = ()) -> Iterator[Record]:
    """Trace the block: forbidden functions raise :class:`ForbiddenCall`, floating-point errors are logged.

    Besides the functions named in ``forbidden``, every function of this
    package (the checkers) is forbidden to the answer.
    """
    record = Record()
    library = _library_dirs()

    def from_reader(depth: int = 2) -> bool:
        frame = sys._getframe(depth)
        return not os.path.normcase(os.path.abspath(frame.f_code.co_filename)).startswith(library)

    # -- forbidden functions: Python code is traced, other callables replaced in their module
    codes: dict[tuple[str, str, int], str] = {}
    replaced: list[tuple[Any, str, Any]] = []
    for dotted in forbidden:
        obj = resolve(dotted)
        if obj is None:
            continue
        func = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)
        code = getattr(func, "__code__", None)
        if code is not None:
            codes[_code_key(code)] = dotted
            continue
        owner = resolve(dotted.rsplit(".", 1)[0])
        attr = dotted.rsplit(".", 1)[1]
        if owner is not None and getattr(owner, attr, None) is obj:
            def blocked(*args: Any, _name: str = dotted, **kwargs: Any) -> Any:
                record.forbidden.append(_name)
                raise ForbiddenCall(f"{_name} is not available in this exercise: write it yourself")
            replaced.append((owner, attr, obj))
            setattr(owner, attr, blocked)

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        key = _code_key(frame.f_code)
        name = codes.get(key)
        if name is None and key[0].startswith(_OWN_DIR) and key[0] not in _OWN_EXEMPT:
            name = "coursework." + os.path.splitext(os.path.basename(key[0]))[0] + "." + key[1]
        if name is not None:
            record.forbidden.append(name)
            raise ForbiddenCall(f"{name} is not available in this exercise: write it yourself")

    # -- NumPy's error state: logged, and not changeable from the reader's code
    real = {"errstate": np.errstate, "seterr": np.seterr, "seterrcall": np.seterrcall}

    class errstate:  # noqa: N801 - stands in for np.errstate
        def __init__(self, **kwargs: Any) -> None:
            self.inner = real["errstate"](**kwargs) if not from_reader() else None
            if self.inner is None:
                record.silenced.append("np.errstate")

        def __enter__(self) -> Any:
            return self.inner.__enter__() if self.inner is not None else None

        def __exit__(self, *exc: Any) -> Any:
            return self.inner.__exit__(*exc) if self.inner is not None else False

        def __call__(self, func: Any) -> Any:
            return func

    def seterr(*args: Any, **kwargs: Any) -> Any:
        if from_reader():
            record.silenced.append("np.seterr")
            return np.geterr()
        return real["seterr"](*args, **kwargs)

    def seterrcall(func: Any) -> Any:
        if from_reader():
            record.silenced.append("np.seterrcall")
            return np.geterrcall()
        return real["seterrcall"](func)

    # The tracing itself: the answer may not switch it off or replace it.
    real_sys = {"setprofile": sys.setprofile, "settrace": sys.settrace}

    def guarded(which: str) -> Any:
        def stand_in(func: Any) -> None:
            if from_reader():
                record.tampered.append(f"the answer called sys.{which}")
                return None
            return real_sys[which](func)
        return stand_in

    log = _Log(record)
    old_err = real["seterr"](all="log", under="ignore")
    old_call = real["seterrcall"](log)
    old_profile = sys.getprofile()
    np.errstate, np.seterr, np.seterrcall = errstate, seterr, seterrcall  # type: ignore[misc,assignment]
    real_sys["setprofile"](profile)
    sys.setprofile, sys.settrace = guarded("setprofile"), guarded("settrace")  # type: ignore[assignment]
    try:
        yield record
    finally:
        sys.setprofile, sys.settrace = real_sys["setprofile"], real_sys["settrace"]  # type: ignore[assignment]
        current_profile = sys.getprofile()
        sys.setprofile(old_profile)
        if current_profile is not profile and not record.forbidden:
            # (After a ForbiddenCall CPython turns profiling off by itself.)
            record.tampered.append("the answer turned off the checker's call tracing (sys.setprofile)")
        if (np.errstate, np.seterr, np.seterrcall) != (errstate, seterr, seterrcall):
            record.tampered.append("the answer replaced NumPy's error-state functions")
        np.errstate, np.seterr, np.seterrcall = real["errstate"], real["seterr"], real["seterrcall"]
        if np.geterrcall() is not log or np.geterr().get("over") != "log":
            record.tampered.append("the answer changed NumPy's error handling behind the checker's back")
        real["seterrcall"](old_call)
        real["seterr"](**old_err)
        for owner, attr, obj in replaced:
            setattr(owner, attr, obj)
