"""The machinery every checker shares: calling an answer safely, comparing, explaining.

A checker (one per coding exercise, in ``coursework/chNN.py``) runs the
reader's function on several inputs (some shown in the hints, some hidden),
compares every result with ``nnlib``'s own computation and produces a
:class:`~coursework.protocol.Verdict`. The check cell prints it:

.. code-block:: text

    ex-01-neuron-forward: PASS (5 checks)
    ex-01-neuron-forward: FAIL - <one-line reason>
    ex-01-neuron-forward: NOT DONE YET - neuron_forward raises NotImplementedError; write your solution above and \
run this cell again.

A FAIL is followed by indented hint lines: which input, what was expected and
what came back (rounded to four decimals), shape problems named explicitly,
the relative error of a gradient check where it fits, and a diagnosis when the
answer matches a well-known mistake.

Rules every checker follows:

* the output is deterministic (fixed seeds, rounded numbers, no addresses,
  no timings, no absolute paths); the class checker alone draws the hidden
  cases afresh on every run (:func:`hidden_cases_salt`);
* it never raises because of a wrong answer: an exception from the reader's
  code is reported as FAIL with its type and message (only
  ``KeyboardInterrupt`` goes through), and so is a warning, such as a NumPy
  overflow, even one the answer tried to silence (see :mod:`coursework.guard`);
* an answer that calls a library's version of what the exercise asks the
  reader to write fails (the exercise's ``forbidden`` list in the registry);
* a constant or a wrong-shaped answer cannot pass: every checker tries inputs
  of several shapes and values.
"""

from __future__ import annotations

import contextlib
import contextvars
import linecache
import re
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from nnlib.gradcheck import numerical_gradient, relative_error

from .guard import ForbiddenCall, watch
from .protocol import FAIL, NOT_DONE, PASS, Verdict

# Tolerances for comparing the reader's floats with nnlib's: loose enough for any
# correct way of writing a formula (a different order of operations changes the
# last bits), tight enough that every real mistake is far outside.
RTOL, ATOL = 1e-7, 1e-10

# The exercise being checked (its forbidden functions) and the salt of its hidden cases.
_forbidden: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("forbidden", default=())
_salt: contextvars.ContextVar[int | None] = contextvars.ContextVar("salt", default=None)


@contextlib.contextmanager
def hidden_cases_salt(salt: int | None) -> Iterator[None]:
    """Draw the hidden test cases from seeds mixed with ``salt`` (the class checker's, new on every run).

    Without it (in the notebooks) the hidden cases come from fixed seeds, so
    that a check cell always prints the same verdict.
    """
    token = _salt.set(salt)
    try:
        yield
    finally:
        _salt.reset(token)


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------
class _Failure(Exception):
    """A wrong answer: a one-line reason and optional hint lines."""

    def __init__(self, reason: str, hints: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hints = list(hints)


class _NotDone(Exception):
    """The reader's function still raises NotImplementedError."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def run_checks(label: str, body: Callable[[], int | str], forbidden: Sequence[str] = ()) -> Verdict:
    """Run one checker body and turn what happened into a :class:`Verdict`."""
    hints: list[str] = []
    token = _forbidden.set(tuple(forbidden))
    try:
        n_checks = body()
    except KeyboardInterrupt:
        raise
    except _NotDone as exc:
        status = NOT_DONE
        detail = f"{exc.name} raises NotImplementedError; write your solution above and run this cell again."
    except _Failure as exc:
        status, detail, hints = FAIL, exc.reason, exc.hints
    except Exception as exc:  # the answer broke the checker itself (an odd return value, say)
        status = FAIL
        detail = f"the check could not finish ({type(exc).__name__}: {_one_line(exc)})"
    else:  # an experiment's checker returns its measurement, e.g. "accuracy 0.962 (target 0.95)"
        status, detail = PASS, n_checks if isinstance(n_checks, str) else f"{n_checks} checks"
    finally:
        _forbidden.reset(token)
    return Verdict(label, status, detail, hints)


# A notebook cell's code, as IPython compiles it: /tmp/ipykernel_<pid>/<hash>.py, or <ipython-input-...>;
# in the class checker's answer process, as cloudpickle rebuilt it from the cell: <dynamic-code>.
_CELL_FILE = re.compile(r"ipykernel_\d+[/\\]\d+\.py$|^<ipython-input-|^<dynamic-code>$")


def answer_line(exc: BaseException) -> tuple[str, int, str] | None:
    """(function, line in its cell, that line's code or "") of the deepest frame of the reader's own code."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if _CELL_FILE.search(code.co_filename):
            found = (code.co_name, tb.tb_lineno, linecache.getline(code.co_filename, tb.tb_lineno).strip()[:160])
        tb = tb.tb_next
    return found


def _raised_hints(exc: BaseException) -> list[str]:
    """Where the reader's code raised (the line, which %xmode minimal hides), and what a known error means."""
    hints = []
    where = getattr(exc, "answer_line", None) or answer_line(exc)
    if where:
        function, line, text = where
        hints.append(f"the error came from line {line} of the cell that defines {function}"
                     + (f": {text}" if text else ""))
    if type(exc).__name__ == "TypeError" and "converted to Python scalars" in str(exc):
        hints.append("a function of the math module (math.exp, math.tanh, ...) takes one number, not an array: "
                     "use NumPy's (np.exp, np.tanh, ...), which work element by element")
    return hints


def _one_line(obj: Any, limit: int = 300) -> str:
    """First line of a message, without memory addresses, cut to ``limit`` characters."""
    lines = str(obj).strip().splitlines()
    text = re.sub(r"0x[0-9a-fA-F]{4,}", "0x...", lines[0] if lines else "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class AnswerStopped(Exception):
    """Raised by the class checker's stand-in for an answer it had to stop ("did not return within 20 s")."""


def _call(func: Callable[..., Any], name: str, args: Sequence[Any], where: Sequence[str] = (),
          warning_hint: str | None = None) -> Any:
    """Call the reader's function; turn exceptions, warnings and forbidden calls into a FAIL.

    ``NotImplementedError`` means the stub is still there (NOT DONE YET).
    Warnings (NumPy's overflow and invalid-value warnings included) are caught
    here, so none leaks into the notebook, and reported as a FAIL. The call
    runs under :func:`coursework.guard.watch` (in the class checker, the
    stand-in ``func`` has already done that in the process that ran it).
    """
    forbidden = _forbidden.get()
    remote = getattr(func, "remote_answer", False)
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        # An unclosed file is reported whenever the garbage collector happens to run: not a
        # property of the answer, and hidden by Python's default filters anyway.
        warnings.simplefilter("ignore", ResourceWarning)
        record = None
        try:
            if remote:
                result = func(*args)
            else:
                with watch(forbidden) as record:
                    result = func(*args)
        except KeyboardInterrupt:
            raise
        except NotImplementedError:
            raise _NotDone(name) from None
        except AnswerStopped as exc:
            raise _Failure(f"{name} {exc}", list(where)) from None
        except BaseException as exc:  # SystemExit included: never let the answer end the notebook
            if record is not None and record.forbidden or isinstance(exc, ForbiddenCall):
                used = record.forbidden[0] if record is not None and record.forbidden else _one_line(exc)
                raise _Failure(_forbidden_reason(name, used), list(where)) from None
            message = _one_line(exc)
            raise _Failure(f"{name} raised {type(exc).__name__}" + (f": {message}" if message else ""),
                           list(where) + _raised_hints(exc)) from None
    if record is not None:
        if record.forbidden:
            raise _Failure(_forbidden_reason(name, record.forbidden[0]), list(where))
        caught = _fp_warnings(record.fp_errors) + list(caught)
    if caught:
        first = caught[0]
        hints = list(where) + ([warning_hint] if warning_hint else [])
        raise _Failure(f"{name} caused a warning: {first.category.__name__}: {_one_line(first.message)}", hints)
    return result


def _fp_warnings(messages: Sequence[str]) -> list[Any]:
    return [warnings.WarningMessage(RuntimeWarning(m), RuntimeWarning, "<answer>", 0) for m in messages]


def _forbidden_reason(name: str, used: str) -> str:
    short = used.replace("nnlib.activations.", "nnlib.").replace("nnlib.layers.", "nnlib.")
    short = short.split(" is not available")[0]
    return (f"{name} calls {short}: this exercise asks you to write that yourself, without the "
            "library's version")


# ---------------------------------------------------------------------------------------------
# Formatting and comparing
# ---------------------------------------------------------------------------------------------
def _fmt(value: Any, threshold: int = 24) -> str:
    """Deterministic text of a number or an array: at most 4 decimals, long arrays summarised."""
    if isinstance(value, str):
        return repr(value)
    a = np.asarray(value)
    if a.dtype.kind == "f":
        a = np.round(a.astype(np.float64), 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    if a.ndim == 0:
        if a.dtype.kind == "f":
            text = f"{float(a):.4f}".rstrip("0")
            return text + "0" if text.endswith(".") else text
        return str(a)
    return np.array2string(a, precision=4, floatmode="maxprec", suppress_small=True,
                           threshold=threshold, edgeitems=3, max_line_width=90)


def _fmt_input(value: Any, threshold: int = 24) -> str:
    """:func:`_fmt`, except that a nonzero float too small for four decimals shows as ``1e-08``, not ``0.0``."""
    text = _fmt(value, threshold)
    if text == "0.0" and isinstance(value, (float, np.floating)) and value != 0:
        return f"{value:g}"
    return text


def _field(name: str, value: Any, threshold: int = 24) -> list[str]:
    """``name = value`` as hint lines, continuation lines indented under the value."""
    lines = _fmt_input(value, threshold).splitlines()
    pad = " " * (len(name) + 3)
    return [f"{name} = {lines[0]}"] + [pad + line for line in lines[1:]]


def _describe(inputs: dict[str, Any], shown: bool) -> list[str]:
    """Hint lines saying which input failed: every value for a shown case, shapes for a hidden one."""
    if shown:
        lines = ["input:"]
        for name, value in inputs.items():
            lines += ["  " + line for line in _field(name, value)]
        return lines
    parts = []
    for name, value in inputs.items():
        a = np.asarray(value) if not isinstance(value, str) else None
        if a is not None and a.ndim > 0:
            parts.append(f"{name} of shape {a.shape}")
        else:
            parts.append(f"{name} = {_fmt_input(value)}")
    return ["input: a hidden test case with " + ", ".join(parts)]


def _as_array(value: Any, name: str, what: str) -> np.ndarray:
    """The reader's result as a float array, or a FAIL saying why it is not one."""
    if value is None:
        raise _Failure(f"{name} returned None for {what}: is the return statement missing?")
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, np.ndarray) for v in value) and len(value) > 1:
        raise _Failure(f"{name} returned {len(value)} arrays for {what}; expected a single array.")
    try:
        a = np.asarray(value)
    except Exception:
        raise _Failure(f"{name} returned a {type(value).__name__} for {what}, which is not an array of "
                       "numbers.") from None
    if a.dtype.kind not in "biuf":
        raise _Failure(f"{name} returned an array of dtype {a.dtype} for {what}; expected real numbers.")
    return a.astype(np.float64)


def _close(got: np.ndarray, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> bool:
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def _ratio_hint(got: np.ndarray, expected: np.ndarray, sizes: dict[str, int] | None = None) -> list[str]:
    """If the answer is the expected one times a constant, say so (and name a likely size)."""
    mask = np.abs(expected) > 1e-12
    if got.shape != expected.shape or mask.sum() < 2 or not np.all(np.isfinite(got)):
        return []
    if not np.allclose(got[~mask], 0.0, atol=1e-10):
        return []
    ratios = got[mask] / expected[mask]
    c = float(np.median(ratios))
    if abs(c) < 1e-12 or not np.allclose(ratios, c, rtol=1e-6) or abs(c - 1.0) < 1e-6:
        return []
    if abs(c + 1.0) < 1e-6:
        return ["every value has the wrong sign"]
    line = f"every value is {c:.4g} times the expected one"
    for label, size in (sizes or {}).items():
        if size > 1 and abs(c - size) < 1e-6 * size:
            line += f" ({label} is {size})"
            break
        if size > 1 and abs(c - 1.0 / size) < 1e-6 / size:
            line += f" (1/{label}, and {label} is {size})"
            break
    return [line]


def _constant_hint(got: np.ndarray, expected: np.ndarray) -> list[str]:
    """Say so when every returned value is the same although the expected ones differ."""
    if got.size > 1 and np.ptp(got) == 0 and np.ptp(expected) > 0:
        return ["every value you returned is the same: the result must depend on the input"]
    return []


def _value_hints(got: np.ndarray, expected: np.ndarray, shown: bool) -> list[str]:
    """``expected = ...`` / ``got = ...`` lines, plus the first differing entry for big arrays."""
    if shown or expected.size <= 8:
        lines = _field("expected", expected) + _field("got     ", got)
        if got.shape == expected.shape and _fmt(got) == _fmt(expected):   # equal to the decimals shown
            index = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
            lines.append(f"they differ beyond the four decimals shown: at index {index}, expected "
                         f"{float(expected[index]):.12g}, got {float(got[index]):.12g}")
        return lines
    diff = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    index = tuple(int(i) for i in np.argwhere(diff)[0])
    return (_field("expected", expected, threshold=8) + _field("got     ", got, threshold=8)
            + [f"first difference at index {index}: expected {_fmt(expected[index])}, got {_fmt(got[index])}"])


def _diagnose(got: np.ndarray, candidates: Sequence[tuple[Callable[[], Any], str]]) -> list[str]:
    """Messages of the known mistakes whose result equals ``got``."""
    found = []
    for make, message in candidates:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                wrong = np.asarray(make(), dtype=np.float64)
        except Exception:
            continue
        if _close(got, wrong):
            found.append(message)
            break
    return found


def _check_array(got_raw: Any, expected: np.ndarray, *, name: str, what: str, case: str,
                 where: list[str], shown: bool, shape_hint: Callable[[tuple], str | None] | None = None,
                 candidates: Sequence[tuple[Callable[[], Any], str]] = (), sizes: dict[str, int] | None = None,
                 extra: Callable[[np.ndarray], list[str]] | None = None) -> None:
    """Compare one returned array with the expected one; raise a FAIL with hints if they differ.

    ``where`` is the hint lines naming the input (see :func:`_describe`).
    """
    got = _as_array(got_raw, name, what)
    if got.shape != expected.shape:
        hints = where[:]
        specific = shape_hint(got.shape) if shape_hint else None
        if specific:
            hints.append(specific)
        raise _Failure(f"{what} has shape {got.shape} on {case}, expected {expected.shape}", hints)
    if not np.all(np.isfinite(got)):
        raise _Failure(f"{what} contains NaN or infinity on {case}", where + _value_hints(got, expected, shown))
    if not _close(got, expected):
        hints = where + _value_hints(got, expected, shown)
        hints += _diagnose(got, candidates) or _ratio_hint(got, expected, sizes) or _constant_hint(got, expected)
        if extra is not None:
            hints += extra(got)
        raise _Failure(f"wrong values of {what} on {case}", hints)


def _unchanged(before: dict[str, Any], after: dict[str, Any], name: str, where: list[str]) -> None:
    """FAIL if the reader's function modified one of the arrays it was given."""
    for key, original in before.items():
        if isinstance(original, np.ndarray) and not np.array_equal(original, after[key]):
            raise _Failure(f"{name} modified its input {key} in place; leave the arrays you are given "
                           "unchanged and return new ones", where)


def _copies(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def _call_on(func: Callable[..., Any], name: str, inputs: dict[str, Any], where: list[str],
             warning_hint: str | None = None) -> Any:
    """Call the reader's function on copies of ``inputs`` (in their order), then FAIL if it changed them."""
    given = _copies(inputs)
    result = _call(func, name, tuple(given.values()), where, warning_hint)
    _unchanged(inputs, given, name, where)
    return result


def _grad_check_hint(analytic: np.ndarray, numeric: np.ndarray, what: str) -> list[str]:
    """One hint line with the relative error of ``analytic`` against central differences."""
    if analytic.shape != numeric.shape or not np.all(np.isfinite(analytic)):
        return []
    err = relative_error(analytic, numeric)
    return [f"gradient check of {what}: relative error {err:.1e} against central differences "
            "(a correct gradient gives less than 1e-7)"]


def _central_difference(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f(x)`` with respect to every entry of a copy of ``x``."""
    x = np.array(x, dtype=np.float64)
    return numerical_gradient(lambda: f(x), x, h)


def _layers_text(model: Any) -> str:
    return ", ".join(repr(layer) for layer in model.layers)


def _gen(seed: int) -> np.random.Generator:
    """The generator of a checker's hidden cases: ``seed``, mixed with the class checker's salt if it set one."""
    salt = _salt.get()
    return np.random.default_rng(seed if salt is None else [seed, salt])


def _salted() -> bool:
    """True when the class checker draws the hidden cases afresh (see :func:`hidden_cases_salt`)."""
    return _salt.get() is not None
