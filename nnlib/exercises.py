"""Checkers for the coding exercises at the end of each chapter.

Each coding exercise in the book ends with a *check cell* that passes the
reader's function to a checker, for example::

    from nnlib.exercises import check_neuron_forward
    check_neuron_forward(neuron_forward)

The checker runs the function on several inputs (some shown in the hints,
some hidden, drawn from fixed seeds), compares every result with ``nnlib``'s
own computation and prints one first line:

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
  no timings, no absolute paths);
* it returns None and never raises because of a wrong answer: an exception
  from the reader's code is reported as FAIL with its type and message
  (only ``KeyboardInterrupt`` goes through), and so is a warning, such as a
  NumPy overflow;
* a constant or a wrong-shaped answer cannot pass: every checker tries inputs
  of several shapes and values;
* when the environment variable ``NNLIB_EXERCISE_LOG`` names a file, one JSON
  line ``{"label": ..., "status": "PASS" | "FAIL" | "NOT DONE YET", "detail": ...}``
  is appended to it per checker call (the submission checker reads it).

:data:`EXERCISES` lists every coding exercise, label to checker name, in book order.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .activations import ReLU, Sigmoid, Tanh, sigmoid, softmax
from .gradcheck import numerical_gradient, relative_error
from .layers import Dense, Layer
from .losses import MSE, BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from .metrics import accuracy
from .model import Model
from .optimizers import SGD, Adam

__all__ = [
    "EXERCISES", "LOG_ENV", "check_accuracy_from_probs", "check_adam_step", "check_bce_grad",
    "check_confusion_matrix", "check_count_parameters", "check_cross_entropy_from_logits",
    "check_dense_backward", "check_dense_forward", "check_gate_weights", "check_he_init",
    "check_momentum_step", "check_neuron_forward", "check_save_load", "check_sigmoid_backward",
    "check_stable_softmax", "check_tanh_derivative", "check_train_step",
]

#: Environment variable naming the JSON-lines file each checker appends its result to.
LOG_ENV = "NNLIB_EXERCISE_LOG"

PASS, FAIL, NOT_DONE = "PASS", "FAIL", "NOT DONE YET"

#: Every coding exercise of the book, in book order, as label -> name of its checker in this module.
EXERCISES: dict[str, str] = {
    "ex-01-neuron-forward": "check_neuron_forward",
    "ex-01-tanh-derivative": "check_tanh_derivative",
    "ex-01-gate-weights": "check_gate_weights",
    "ex-02-dense-forward": "check_dense_forward",
    "ex-02-count-parameters": "check_count_parameters",
    "ex-02-he-init": "check_he_init",
    "ex-03-sigmoid-backward": "check_sigmoid_backward",
    "ex-03-dense-backward": "check_dense_backward",
    "ex-03-bce-grad": "check_bce_grad",
    "ex-04-train-step": "check_train_step",
    "ex-04-accuracy": "check_accuracy_from_probs",
    "ex-05-save-load": "check_save_load",
    "ex-06-momentum-step": "check_momentum_step",
    "ex-06-adam-step": "check_adam_step",
    "ex-07-softmax": "check_stable_softmax",
    "ex-07-cross-entropy": "check_cross_entropy_from_logits",
    "ex-07-confusion-matrix": "check_confusion_matrix",
}

# Tolerances for comparing the reader's floats with nnlib's: loose enough for any
# correct way of writing a formula (a different order of operations changes the
# last bits), tight enough that every real mistake is far outside.
RTOL, ATOL = 1e-7, 1e-10


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


def _log(label: str, status: str, detail: str) -> None:
    """Append one JSON line to the file named by ``NNLIB_EXERCISE_LOG``, if it is set."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    record = json.dumps({"label": label, "status": status, "detail": detail}, ensure_ascii=False)
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(record + "\n")
    except OSError:
        # The log is for the teacher's tool; a student's notebook must not crash over it.
        pass


def _run(label: str, body: Callable[[], int]) -> None:
    """Run one checker body, print its verdict, log it, and return None."""
    hints: list[str] = []
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
    else:
        status, detail = PASS, f"{n_checks} checks"
    print(f"{label}: {status} ({detail})" if status == PASS else f"{label}: {status} - {detail}")
    for line in hints:
        print("    " + line)
    _log(label, status, detail)


def _one_line(obj: Any, limit: int = 300) -> str:
    """First line of a message, without memory addresses, cut to ``limit`` characters."""
    lines = str(obj).strip().splitlines()
    text = re.sub(r"0x[0-9a-fA-F]{4,}", "0x...", lines[0] if lines else "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call(func: Callable[..., Any], name: str, args: Sequence[Any], where: Sequence[str] = (),
          warning_hint: str | None = None) -> Any:
    """Call the reader's function; turn exceptions and warnings into a FAIL.

    ``NotImplementedError`` means the stub is still there (NOT DONE YET).
    Warnings (NumPy's overflow and invalid-value warnings included) are caught
    here, so none leaks into the notebook, and reported as a FAIL.
    """
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        # An unclosed file is reported whenever the garbage collector happens to run: not a
        # property of the answer, and hidden by Python's default filters anyway.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            result = func(*args)
        except KeyboardInterrupt:
            raise
        except NotImplementedError:
            raise _NotDone(name) from None
        except BaseException as exc:  # SystemExit included: never let the answer end the notebook
            message = _one_line(exc)
            raise _Failure(f"{name} raised {type(exc).__name__}" + (f": {message}" if message else ""),
                           list(where)) from None
    if caught:
        first = caught[0]
        hints = list(where) + ([warning_hint] if warning_hint else [])
        raise _Failure(f"{name} caused a warning: {first.category.__name__}: {_one_line(first.message)}", hints)
    return result


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
        return _field("expected", expected) + _field("got     ", got)
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


def _gen(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# Chapter 1: neurons
# ---------------------------------------------------------------------------------------------
_X_CHAPTER1 = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
_W_CHAPTER1 = np.array([0.8, 0.2, -0.4])


def check_neuron_forward(neuron_forward: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> None:
    """Check ``neuron_forward(X, w, b)``: the sigmoid of ``X @ w + b``, one value per sample.

    Parameters
    ----------
    neuron_forward : callable
        ``neuron_forward(X, w, b)`` with ``X`` of shape ``(n, d)``, ``w`` of shape
        ``(d,)`` and a number ``b``, returning an array of shape ``(n,)``.

    Returns
    -------
    None
        The verdict is printed (and logged, see the module docstring).

    Notes
    -----
    Five inputs: the chapter's three samples, a single sample, two hidden
    batches, and weighted sums of :math:`\\pm 1000`, which the textbook
    ``1 / (1 + np.exp(-z))`` turns into an overflow warning (a FAIL).
    """
    name, label = "neuron_forward", "ex-01-neuron-forward"

    def body() -> int:
        g = _gen(101)
        cases = [
            ("the chapter's three samples", dict(X=_X_CHAPTER1, w=_W_CHAPTER1, b=0.1), True),
            ("a batch of one sample", dict(X=_X_CHAPTER1[:1], w=_W_CHAPTER1, b=0.1), True),
            ("hidden test 1", dict(X=g.normal(size=(7, 4)), w=g.normal(size=4), b=float(g.normal())), False),
            ("hidden test 2", dict(X=3 * g.normal(size=(20, 2)), w=g.normal(size=2), b=-1.7), False),
            ("weighted sums of +-1000", dict(X=np.array([[1000.0], [-1000.0], [0.0]]), w=np.array([1.0]), b=0.0), True),
        ]
        for case, inputs, shown in cases:
            X, w, b = inputs["X"], inputs["w"], inputs["b"]
            where = _describe(inputs, shown)
            got = _call_on(neuron_forward, name, inputs, where,
                           warning_hint="the sigmoid overflowed: exponentiate only -|z|, as in the section "
                                        "'A sigmoid that does not overflow'")
            z = X @ w + b
            n = X.shape[0]
            _check_array(
                got, sigmoid(z), name=name, what="the output", case=case, where=where, shown=shown,
                shape_hint=lambda shape, n=n: (
                    f"return one value per sample, shape ({n},): use a 1-D w, or flatten the result with .ravel()"
                    if shape in ((n, 1), (1, n)) else None),
                candidates=[
                    (lambda z=z: z, "these are the weighted sums z = X @ w + b; pass them through the sigmoid"),
                    (lambda X=X, w=w: sigmoid(X @ w), "the bias b is missing from the weighted sum"),
                    (lambda z=z: sigmoid(-z), "the sign is flipped: sigmoid(z) = 1 / (1 + exp(-z))"),
                    (lambda X=X, w=w, b=b: sigmoid(X @ w) + b,
                     "b is added after the sigmoid; add it to the weighted sum"),
                ],
            )
        return len(cases)

    _run(label, body)


def check_tanh_derivative(tanh_derivative: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``tanh_derivative(z)``: :math:`1 - \\tanh^2 z`, element by element.

    Parameters
    ----------
    tanh_derivative : callable
        ``tanh_derivative(z)`` for an array ``z`` of any shape, returning an
        array of the same shape.

    Returns
    -------
    None

    Notes
    -----
    Four inputs of different shapes (two hidden). A wrong answer gets the
    relative error of a gradient check against central differences of
    ``np.tanh``.
    """
    name, label = "tanh_derivative", "ex-01-tanh-derivative"

    def body() -> int:
        g = _gen(102)
        cases = [
            ("z = [-2, 0, 2]", dict(z=np.array([-2.0, 0.0, 2.0])), True),
            ("a (2, 2) array", dict(z=np.array([[0.5, -0.5], [1.0, 3.0]])), True),
            ("hidden test 1", dict(z=2 * g.normal(size=(4, 5))), False),
            ("hidden test 2", dict(z=np.array([[-20.0], [-0.25], [0.7], [20.0]])), False),
        ]
        for case, inputs, shown in cases:
            z = inputs["z"]
            where = _describe(inputs, shown)
            got = _call_on(tanh_derivative, name, inputs, where)
            t = np.tanh(z)
            _check_array(
                got, 1.0 - t * t, name=name, what="the derivative", case=case, where=where, shown=shown,
                shape_hint=lambda shape, s=z.shape: f"return an array of the same shape as z, {s}",
                candidates=[
                    (lambda z=z: 1.0 - z * z,
                     "1 - z**2 uses the input z; the formula needs the output: 1 - tanh(z)**2"),
                    (lambda t=t: 1.0 - t, "the square is missing: 1 - tanh(z)**2"),
                    (lambda t=t: t, "that is tanh itself, not its derivative"),
                    (lambda t=t: t * t, "that is tanh(z)**2; the derivative is 1 minus it"),
                    (lambda t=t: t * (1.0 - t), "t * (1 - t) is the sigmoid's pattern; tanh's is 1 - t**2"),
                ],
                extra=lambda got, z=z: _grad_check_hint(
                    got, _central_difference(lambda v: float(np.sum(np.tanh(v))), z), "tanh"),
            )
        return len(cases)

    _run(label, body)


_X_GATE = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_GATES = {
    "AND": np.array([0.0, 0.0, 0.0, 1.0]),
    "OR": np.array([0.0, 1.0, 1.0, 1.0]),
    "NAND": np.array([1.0, 1.0, 1.0, 0.0]),
    "NOR": np.array([1.0, 0.0, 0.0, 0.0]),
}


def check_gate_weights(gate_weights: Callable[[str], tuple[np.ndarray, float]]) -> None:
    """Check ``gate_weights(gate)``: a sigmoid neuron's ``(w, b)`` for AND, OR, NAND and NOR.

    Parameters
    ----------
    gate_weights : callable
        ``gate_weights(gate)`` with ``gate`` one of ``"AND"``, ``"OR"``,
        ``"NAND"``, ``"NOR"``, returning ``(w, b)``: ``w`` of shape ``(2,)``
        and a number ``b``.

    Returns
    -------
    None

    Notes
    -----
    For each gate the neuron :math:`\\sigma(x w + b)` must be within 0.1 of the
    truth table on all four corners of the unit square, so one pair of weights
    for every gate cannot pass.
    """
    name, label = "gate_weights", "ex-01-gate-weights"

    def body() -> int:
        for gate, target in _GATES.items():
            where = [f"input: gate = {gate!r}"]
            result = _call(gate_weights, name, (gate,), where)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise _Failure(f"gate_weights({gate!r}) must return a pair (w, b), got a {type(result).__name__}",
                               where + ["return w, b"])
            w = _as_array(result[0], name, f"w of gate {gate}")
            b = _as_array(result[1], name, f"b of gate {gate}")
            if w.shape != (2,):
                raise _Failure(f"w of gate {gate} has shape {w.shape}, expected (2,): one weight per input", where)
            if b.size != 1:
                raise _Failure(f"b of gate {gate} has shape {b.shape}, expected a single number", where)
            if not (np.all(np.isfinite(w)) and np.isfinite(b).all()):
                raise _Failure(f"the weights of gate {gate} contain NaN or infinity", where)
            y_hat = sigmoid(_X_GATE @ w + float(b.reshape(-1)[0]))
            if np.any(np.abs(y_hat - target) >= 0.1):
                table = ["x1  x2  target  neuron output"]
                for x, t, p in zip(_X_GATE, target, y_hat):
                    mark = "   <- off by 0.1 or more" if abs(p - t) >= 0.1 else ""
                    table.append(f" {x[0]:.0f}   {x[1]:.0f}     {t:.0f}    {p:.4f}{mark}")
                table += [f"with w = {_fmt(w)}, b = {_fmt(float(b.reshape(-1)[0]))}; every output must be "
                          "within 0.1 of its target (large weights make the sigmoid decisive)"]
                raise _Failure(f"the neuron for {gate} is wrong on some corners", where + table)
        return len(_GATES)

    _run(label, body)


# ---------------------------------------------------------------------------------------------
# Chapter 2: layers
# ---------------------------------------------------------------------------------------------
_X_CHAPTER2 = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
_W_CHAPTER2 = np.array([[0.5, -1.0], [0.25, 0.5], [-0.5, 1.0]])
_B_CHAPTER2 = np.array([0.1, -0.2])


def check_dense_forward(dense_forward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> None:
    """Check ``dense_forward(X, W, b)``: a Dense layer's output ``X @ W + b``.

    Parameters
    ----------
    dense_forward : callable
        ``dense_forward(X, W, b)`` with ``X`` of shape ``(n, n_in)``, ``W`` of
        shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``, returning shape
        ``(n, n_out)``.

    Returns
    -------
    None

    Notes
    -----
    Five inputs: the chapter's batch and four hidden ones, among them a square
    ``W`` (which exposes a transposed weight matrix) and a single sample.
    """
    name, label = "dense_forward", "ex-02-dense-forward"

    def body() -> int:
        g = _gen(201)
        cases = [
            ("the chapter's batch", dict(X=_X_CHAPTER2, W=_W_CHAPTER2, b=_B_CHAPTER2), True),
            ("hidden test 1", dict(X=g.normal(size=(6, 5)), W=g.normal(size=(5, 3)), b=g.normal(size=3)), False),
            ("hidden test 2", dict(X=g.normal(size=(3, 4)), W=g.normal(size=(4, 4)), b=g.normal(size=4)), False),
            ("hidden test 3", dict(X=g.normal(size=(1, 3)), W=g.normal(size=(3, 2)), b=g.normal(size=2)), False),
            ("hidden test 4", dict(X=g.normal(size=(10, 2)), W=g.normal(size=(2, 1)), b=g.normal(size=1)), False),
        ]
        for case, inputs, shown in cases:
            X, W, b = inputs["X"], inputs["W"], inputs["b"]
            where = _describe(inputs, shown)
            got = _call_on(dense_forward, name, inputs, where)
            expected = X @ W + b

            def shape_hint(shape, expected=expected):
                if shape == expected.shape[::-1]:
                    return ("that is one column per sample (source B's layout); this book keeps one row "
                            "per sample: Z = X @ W + b")
                return f"the output has one row per sample and one column per neuron: {expected.shape}"

            _check_array(
                got, expected, name=name, what="the output", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (lambda X=X, W=W: X @ W, "the bias b is missing"),
                    (lambda X=X, W=W, b=b: X @ W.T + b, "W is used transposed; it has one row per input and "
                                                       "one column per neuron, so Z = X @ W + b"),
                    (lambda X=X, W=W, b=b: X @ W - b, "b must be added, not subtracted"),
                ],
            )
        return len(cases)

    _run(label, body)


def check_count_parameters(count_parameters: Callable[[Sequence[int]], int]) -> None:
    """Check ``count_parameters(layer_sizes)``: the number of weights and biases of a Dense network.

    Parameters
    ----------
    count_parameters : callable
        ``count_parameters(layer_sizes)`` for a list such as ``[4, 8, 1]``
        (4 inputs, a layer of 8 neurons, a layer of 1), returning an int.

    Returns
    -------
    None

    Notes
    -----
    Six networks, four of them hidden. The count is
    :math:`\\sum_l (n_{l-1} n_l + n_l)`.
    """
    name, label = "count_parameters", "ex-02-count-parameters"
    networks = [
        ("source A's 4-8-1 network", [4, 8, 1], True),
        ("source B's 2-4-6-6-4-1 network", [2, 4, 6, 6, 4, 1], True),
        ("hidden test 1", [2, 64, 32, 16, 1], False),
        ("hidden test 2", [784, 128, 10], False),
        ("hidden test 3", [3, 3], False),
        ("hidden test 4", [1, 1, 1, 1], False),
    ]

    def body() -> int:
        for case, sizes, shown in networks:
            where = [f"input: layer_sizes = {sizes}" if shown else f"input: {case}"]
            got = _call(count_parameters, name, (list(sizes),), where)
            expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
            if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
                raise _Failure(f"{name} must return a single whole number, got a {type(got).__name__} for {case}",
                               where)
            if not np.isfinite(got) or float(got) != round(float(got)):
                raise _Failure(f"{name} returned {_fmt(got)} for {case}; a count is a whole number", where)
            if int(got) != expected:
                hints = where + [f"expected {expected}, got {int(got)}"]
                weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
                if int(got) == weights:
                    hints.append("that counts the weights only; every neuron also has a bias")
                elif int(got) == expected + sizes[0]:
                    hints.append("the inputs have no biases: only the layers' neurons do")
                elif int(got) == sum(a * b + a for a, b in zip(sizes[:-1], sizes[1:])):
                    hints.append("a Dense(n_in, n_out) layer has n_out biases, one per neuron, not n_in")
                raise _Failure(f"wrong count for {case}", hints)
        return len(networks)

    _run(label, body)


def check_he_init(he_init: Callable[[int, int, np.random.Generator], np.ndarray]) -> None:
    """Check ``he_init(fan_in, fan_out, rng)``: weights drawn from :math:`\\mathcal N(0, 2/\\text{fan\\_in})`.

    Parameters
    ----------
    he_init : callable
        ``he_init(fan_in, fan_out, rng)`` returning an array of shape
        ``(fan_in, fan_out)`` drawn with the generator ``rng``.

    Returns
    -------
    None

    Notes
    -----
    Random weights cannot be compared number by number with one right answer,
    so this checks, with fixed seeds (hence always the same verdict): the
    shape; that the same seed gives the same weights and another seed other
    weights (so every number comes from ``rng``); and, on three large draws
    whose fan-in and fan-out differ, that the mean is 0, that the standard
    deviation is :math:`\\sqrt{2/\\text{fan\\_in}}` within 3 %, and that about
    4.6 % of the weights lie beyond two standard deviations, as for a normal
    distribution (a uniform distribution has none there).
    """
    name, label = "he_init", "ex-02-he-init"

    def draw(fan_in: int, fan_out: int, seed: int) -> np.ndarray:
        where = [f"input: fan_in = {fan_in}, fan_out = {fan_out}, rng = np.random.default_rng({seed})"]
        W = _as_array(_call(he_init, name, (fan_in, fan_out, np.random.default_rng(seed)), where), name,
                      "the weights")
        if W.shape != (fan_in, fan_out):
            hint = ("rows and columns are swapped" if W.shape == (fan_out, fan_in)
                    else "one row per input, one column per neuron")
            raise _Failure(f"the weights have shape {W.shape}, expected ({fan_in}, {fan_out})", where + [hint])
        if not np.all(np.isfinite(W)):
            raise _Failure("the weights contain NaN or infinity", where)
        return W

    def body() -> int:
        draw(3, 2, 0)
        first, again = draw(4, 3, 42), draw(4, 3, 42)
        if not np.array_equal(first, again):
            raise _Failure("two generators made from the same seed gave different weights",
                           ["draw every random number from rng (e.g. rng.standard_normal(...)), "
                            "never from np.random.* directly"])
        other = draw(4, 3, 43)
        if np.array_equal(first, other) or np.ptp(first) == 0:
            raise _Failure("the weights do not depend on rng (different seeds gave the same weights)",
                           ["draw the numbers from the generator rng you are given"])
        for fan_in, fan_out, seed in ((500, 80, 1), (40, 1000, 2), (200, 200, 3)):
            W = draw(fan_in, fan_out, seed)
            target = np.sqrt(2.0 / fan_in)
            where = [f"input: fan_in = {fan_in}, fan_out = {fan_out}, rng = np.random.default_rng({seed})"]
            mean, std = float(W.mean()), float(W.std())
            if abs(mean) > 0.05 * target:
                raise _Failure(f"the weights' mean is {mean:.4f}, expected about 0", where)
            if abs(std / target - 1.0) > 0.03:
                hints = where + [f"standard deviation {std:.4f}, expected sqrt(2 / fan_in) = {target:.4f}"]
                known = [
                    (1.0 / np.sqrt(fan_in), "that is sqrt(1 / fan_in); He doubles the variance for ReLU: 2 / fan_in"),
                    (2.0 / fan_in, "2 / fan_in is the variance; scale a standard normal by its square root"),
                    (np.sqrt(2.0 / fan_out), "fan_out used instead of fan_in"),
                    (np.sqrt(2.0 / (fan_in + fan_out)), "that is Xavier's variance 2 / (fan_in + fan_out)"),
                    (1.0, "unscaled standard normal: multiply by sqrt(2 / fan_in)"),
                ]
                hints += [msg for value, msg in known if abs(std / value - 1.0) < 0.03][:1]
                raise _Failure("the weights have the wrong spread", hints)
            tail = float(np.mean(np.abs(W) > 2 * target))
            if not 0.035 <= tail <= 0.057:
                raise _Failure("the weights are not normally distributed",
                               where + [f"{tail:.1%} of the weights lie beyond two standard deviations; for a "
                                        "normal distribution about 4.6 % do (a uniform one has none there)"])
        return 6

    _run(label, body)


# ---------------------------------------------------------------------------------------------
# Chapter 3: backpropagation
# ---------------------------------------------------------------------------------------------
def check_sigmoid_backward(sigmoid_backward: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """Check ``sigmoid_backward(s, grad)``: :math:`\\partial L/\\partial z = \\text{grad} \\odot s (1 - s)`.

    Parameters
    ----------
    sigmoid_backward : callable
        ``sigmoid_backward(s, grad)`` with ``s`` the sigmoid's forward output
        and ``grad`` the incoming gradient :math:`\\partial L/\\partial s`, both
        of the same shape; returns :math:`\\partial L/\\partial z`, same shape.

    Returns
    -------
    None

    Notes
    -----
    Four inputs (two hidden, one with saturated sigmoids). A wrong answer gets
    a gradient check against central differences through the sigmoid, and a
    diagnosis of source A's two mistakes: the incoming gradient dropped, and
    the derivative formula applied to the wrong value.
    """
    name, label = "sigmoid_backward", "ex-03-sigmoid-backward"

    def body() -> int:
        g = _gen(301)
        cases = [
            ("the first example", np.array([[-2.0, 0.0, 2.0]]), np.array([[1.0, 2.0, 3.0]]), True),
            ("hidden test 1", 2 * g.normal(size=(5, 4)), g.normal(size=(5, 4)), False),
            ("hidden test 2", np.array([[-40.0], [-3.0], [0.5], [40.0], [1.0], [6.0]]), g.normal(size=(6, 1)), False),
            ("hidden test 3", g.normal(size=(3, 2)), np.array([[0.0, 1.0], [-2.0, 0.5], [3.0, 0.0]]), False),
        ]
        for case, z, grad, shown in cases:
            s = sigmoid(z)
            inputs = dict(s=s, grad=grad)
            where = _describe(inputs, shown)
            got = _call_on(sigmoid_backward, name, inputs, where)
            _check_array(
                got, grad * s * (1.0 - s), name=name, what="dL/dz", case=case, where=where, shown=shown,
                shape_hint=lambda shape, e=s.shape: f"dL/dz has the shape of s and grad, {e}",
                candidates=[
                    (lambda s=s: s * (1.0 - s), "that is the local derivative alone: the incoming gradient grad "
                                                "is dropped (source A's mistake); multiply by grad"),
                    (lambda s=s, grad=grad: grad * sigmoid(s) * (1.0 - sigmoid(s)),
                     "s is already the sigmoid's output: its derivative is s * (1 - s), no second sigmoid"),
                    (lambda s=s, grad=grad: grad * s, "the factor (1 - s) is missing"),
                    (lambda s=s, grad=grad: grad * (1.0 - s), "the factor s is missing"),
                    (lambda s=s, grad=grad: grad * (1.0 - s * s),
                     "1 - s**2 is tanh's pattern; the sigmoid's is s * (1 - s)"),
                ],
                extra=lambda got, z=z, grad=grad: _grad_check_hint(
                    got, _central_difference(lambda v: float(np.sum(sigmoid(v) * grad)), z), "dL/dz"),
            )
        return len(cases)

    _run(label, body)


def check_dense_backward(dense_backward: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple]) -> None:
    """Check ``dense_backward(X, W, grad)``: a Dense layer's ``(dX, dW, db)``.

    Parameters
    ----------
    dense_backward : callable
        ``dense_backward(X, W, grad)`` with the layer's input ``X`` of shape
        ``(n, n_in)``, its weights ``W`` of shape ``(n_in, n_out)`` and the
        incoming gradient ``grad`` = :math:`\\partial L/\\partial Z` of shape
        ``(n, n_out)``; returns ``(dX, dW, db)`` shaped like ``X``, ``W`` and
        ``b`` (``(n_out,)``).

    Returns
    -------
    None

    Notes
    -----
    Five inputs, four hidden: among them a square layer fed a square batch,
    where a missing transpose keeps the right shape but not the right values,
    and a batch of one sample. A wrong answer gets the gradient check of each
    of the three results.
    """
    name, label = "dense_backward", "ex-03-dense-backward"

    def body() -> int:
        g = _gen(302)
        cases = [
            ("the first example", dict(X=np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]),
                                       W=np.array([[0.5, -1.0], [0.25, 0.5], [-0.5, 1.0]]),
                                       grad=np.array([[1.0, -1.0], [0.5, 2.0]])), True),
        ] + [
            (f"hidden test {k}", dict(X=g.normal(size=(n, n_in)), W=g.normal(size=(n_in, n_out)),
                                      grad=g.normal(size=(n, n_out))), False)
            for k, (n, n_in, n_out) in enumerate([(5, 3, 4), (4, 4, 4), (1, 3, 2), (7, 2, 1)], start=1)
        ]
        for case, inputs, shown in cases:
            X, W, G = inputs["X"], inputs["W"], inputs["grad"]
            where = _describe(inputs, shown)
            result = _call_on(dense_backward, name, inputs, where)
            if not isinstance(result, (tuple, list)) or len(result) != 3:
                got_what = (f"{len(result)} values" if isinstance(result, (tuple, list))
                            else f"a {type(result).__name__}")
                raise _Failure(f"{name} must return three arrays (dX, dW, db), got {got_what}",
                               where + ["return dX, dW, db"])
            b = np.zeros(W.shape[1])

            def f_of(X_, W_, b_, G=G):
                return float(np.sum((X_ @ W_ + b_) * G))

            n = X.shape[0]
            expected = {"dX": G @ W.T, "dW": X.T @ G, "db": G.sum(axis=0)}
            like = {"dX": "X", "dW": "W", "db": "b"}
            numeric = {
                "dX": lambda X=X, W=W, b=b: _central_difference(lambda v: f_of(v, W, b), X),
                "dW": lambda X=X, W=W, b=b: _central_difference(lambda v: f_of(X, v, b), W),
                "db": lambda X=X, W=W, b=b: _central_difference(lambda v: f_of(X, W, v), b),
            }
            candidates = {
                "dX": [(lambda G=G, W=W: G @ W, "dX must use W transposed: dX = grad @ W.T"),
                       (lambda G=G, W=W: G @ W.T / G.shape[0], "dX is divided by the number of samples; do not divide "
                                                               "(the 1/N is already in the loss's gradient)")],
                "dW": [(lambda X=X, G=G: X.T @ G / X.shape[0], "dW is divided by the number of samples; do not divide "
                                                               "(the 1/N is already in the loss's gradient)")],
                "db": [(lambda G=G: G.mean(axis=0), "db is the mean over the samples; it must be the sum "
                                                    "(the 1/N is already in the loss's gradient)"),
                       (lambda G=G: G.sum(axis=1), "db sums over the wrong axis: sum over the samples, axis=0")],
            }
            for key, got in zip(("dX", "dW", "db"), result):
                e = expected[key]

                def shape_hint(shape, key=key, e=e):
                    others = {k: v.shape for k, v in expected.items() if k != key}
                    same = [k for k, s in others.items() if s == shape]
                    if same:
                        return (f"that is the shape of {same[0]}: are the three arrays returned in the order "
                                "(dX, dW, db)?")
                    if shape == (1,) + e.shape:
                        return f"{key} must have shape {e.shape} like {like[key]}: sum without keepdims"
                    if shape == e.shape[::-1] and len(shape) == 2:
                        return f"{key} is transposed"
                    return f"{key} has the shape of {like[key]}, {e.shape}"

                _check_array(
                    got, e, name=name, what=key, case=case, where=where, shown=shown, shape_hint=shape_hint,
                    candidates=candidates[key], sizes={"the number of samples": n},
                    extra=lambda got, key=key: _grad_check_hint(got, numeric[key](), key),
                )
        return len(cases)

    _run(label, body)


def check_bce_grad(bce_grad: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """Check ``bce_grad(y, y_hat)``: the gradient of the mean binary cross-entropy.

    Parameters
    ----------
    bce_grad : callable
        ``bce_grad(y, y_hat)`` with labels ``y`` (0 or 1) and probabilities
        ``y_hat`` in (0, 1) of the same shape; returns
        :math:`\\partial L/\\partial \\hat y = \\frac1N \\frac{\\hat y - y}{\\hat y (1-\\hat y)}`
        with :math:`N` the number of elements, same shape.

    Returns
    -------
    None

    Notes
    -----
    Four inputs of shapes ``(3, 1)``, ``(8, 1)``, ``(5,)`` and ``(4, 3)``
    (the last three hidden). A wrong answer gets a gradient check against
    central differences of ``nnlib.BinaryCrossEntropy`` and, where it fits,
    the factor it is off by.
    """
    name, label = "bce_grad", "ex-03-bce-grad"
    bce = BinaryCrossEntropy()

    def body() -> int:
        g = _gen(303)
        cases = [
            ("the first example", np.array([[0.0], [1.0], [1.0]]), np.array([[0.2], [0.6], [0.9]]), True),
            ("hidden test 1", g.integers(0, 2, size=(8, 1)).astype(float), g.uniform(0.05, 0.95, size=(8, 1)), False),
            ("hidden test 2", np.array([1.0, 0.0, 0.0, 1.0, 1.0]), g.uniform(0.05, 0.95, size=5), False),
            ("hidden test 3", g.integers(0, 2, size=(4, 3)).astype(float), g.uniform(0.05, 0.95, size=(4, 3)), False),
        ]
        for case, y, y_hat, shown in cases:
            inputs = dict(y=y, y_hat=y_hat)
            where = _describe(inputs, shown)
            got = _call_on(bce_grad, name, inputs, where)
            N = y_hat.size
            _check_array(
                got, bce.grad(y, y_hat), name=name, what="dL/dy_hat", case=case, where=where, shown=shown,
                shape_hint=lambda shape, e=y_hat.shape: f"the gradient has the shape of y_hat, {e}",
                candidates=[
                    (lambda y=y, p=y_hat: (p - y) / (p * (1 - p)), f"the 1/N of the mean is missing (N = {N}, the "
                                                                   "number of elements of y_hat)"),
                    (lambda y=y, p=y_hat, N=N: (p - y) / N, "(y_hat - y) / N is the gradient with respect to z, the "
                                                            "sigmoid's input (the fused form); this exercise asks for "
                                                            "dL/dy_hat, which has y_hat * (1 - y_hat) below"),
                    (lambda y=y, p=y_hat: (p - y) / (p * (1 - p)) / p.shape[0],
                     f"divide by the number of elements of y_hat ({N}), not the number of rows"),
                ],
                sizes={"N": N},
                extra=lambda got, y=y, y_hat=y_hat: _grad_check_hint(
                    got, _central_difference(lambda v: bce(y, v), y_hat), "dL/dy_hat"),
            )
        return len(cases)

    _run(label, body)


# ---------------------------------------------------------------------------------------------
# Chapter 4: training
# ---------------------------------------------------------------------------------------------
def _train_cases() -> list[tuple[str, Callable[[], Model], np.ndarray, np.ndarray, Loss, float, bool]]:
    g = _gen(401)
    X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y_xor = np.array([[0.0], [1.0], [1.0], [0.0]])
    X1, y1 = g.normal(size=(10, 3)), g.normal(size=(10, 1))
    X2 = g.normal(size=(6, 2))
    y2 = (g.random(size=(6, 2)) > 0.5).astype(float)
    return [
        ("the XOR network (BinaryCrossEntropy, lr 0.5)",
         lambda: Model([Dense(2, 4, rng=3), Tanh(), Dense(4, 1, rng=4), Sigmoid()]), X_xor, y_xor,
         BinaryCrossEntropy(), 0.5, True),
        ("hidden test 1 (a ReLU network, MSE)",
         lambda: Model([Dense(3, 5, init="he", rng=10), ReLU(), Dense(5, 1, rng=11)]), X1, y1, MSE(), 0.05, False),
        ("hidden test 2 (two sigmoid outputs, MSE)",
         lambda: Model([Dense(2, 3, rng=20), Sigmoid(), Dense(3, 2, rng=21), Sigmoid()]), X2, y2, MSE(), 1.0, False),
    ]


def _reference_step(model: Model, X: np.ndarray, y: np.ndarray, loss: Loss, lr: float) -> float:
    value = model.compute_gradients(X, y, loss)
    for p, grad in zip(model.parameters(), model.gradients()):
        p -= lr * grad
    return value


def _wrong_steps() -> list[tuple[Callable[..., Any], str]]:
    """Classic mistakes of a training step, as functions with the step's signature."""

    def no_lr(model, X, y, loss, lr):
        value = model.compute_gradients(X, y, loss)
        for p, grad in zip(model.parameters(), model.gradients()):
            p -= grad
        return value

    def plus(model, X, y, loss, lr):
        value = model.compute_gradients(X, y, loss)
        for p, grad in zip(model.parameters(), model.gradients()):
            p += lr * grad
        return value

    def update_first(model, X, y, loss, lr):
        for p, grad in zip(model.parameters(), model.gradients()):
            p -= lr * grad
        return model.compute_gradients(X, y, loss)

    def no_update(model, X, y, loss, lr):
        return model.compute_gradients(X, y, loss)

    return [
        (no_update, "the parameters never change: update the arrays in place (p -= lr * g); "
                    "p = p - lr * g only makes a new array and leaves the model's untouched"),
        (update_first, "the parameters are updated before the gradients are computed, so every step uses "
                       "the previous step's gradients (zero before the first): compute the gradients first"),
        (no_lr, "the step ignores the learning rate: p -= lr * g"),
        (plus, "the step goes up the gradient: subtract lr * g"),
    ]


def _trajectory(step: Callable[..., Any], model: Model, X: np.ndarray, y: np.ndarray, loss: Loss, lr: float,
                steps: int, call: Callable[..., Any] | None = None) -> tuple[list[Any], list[list[np.ndarray]]]:
    values, states = [], []
    for _ in range(steps):
        args = (model, X.copy(), y.copy(), loss, lr)
        values.append(call(step, args) if call else step(*args))
        states.append([p.copy() for p in model.parameters()])
    return values, states


def _same_param(p: np.ndarray, q: np.ndarray) -> bool:
    return p.shape == q.shape and bool(np.allclose(p, q, rtol=1e-9, atol=1e-12))


def _same_states(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> bool:
    return all(len(sa) == len(sb) and all(_same_param(p, q) for p, q in zip(sa, sb)) for sa, sb in zip(a, b))


def check_train_step(train_step: Callable[[Model, np.ndarray, np.ndarray, Loss, float], float]) -> None:
    """Check ``train_step(model, X, y, loss, lr)``: one step of gradient descent, returning the loss.

    Parameters
    ----------
    train_step : callable
        ``train_step(model, X, y, loss, lr)`` that computes the gradients of
        ``loss`` on ``(X, y)`` (forward and backward pass), moves every
        parameter by ``-lr`` times its gradient in place, and returns the loss
        computed before the update, as a float.

    Returns
    -------
    None

    Notes
    -----
    Three networks (two hidden), three steps each, side by side with a copy of
    the same network trained by ``compute_gradients`` followed by
    :math:`\\theta \\leftarrow \\theta - \\text{lr}\\,\\nabla_\\theta L`. Every
    parameter and every returned loss must agree. A wrong answer is compared
    with the classic mistakes (no in-place update, update before the
    gradients, learning rate forgotten, wrong sign).
    """
    name, label = "train_step", "ex-04-train-step"
    steps = 3

    def body() -> int:
        n_checks = 0
        for case, make, X, y, loss, lr, shown in _train_cases():
            inputs = dict(X=X, y=y, lr=lr)
            model, reference = make(), make()
            where = _describe(inputs, shown) + [f"model: {_layers_text(reference)}, loss: {loss!r}"]

            def call(step, args, where=where):
                return _call(step, name, args, where)

            values, states = _trajectory(train_step, model, X, y, loss, lr, steps, call)
            ref_values, ref_states = _trajectory(_reference_step, reference, X, y, loss, lr, steps)
            for k in range(steps):
                n_checks += 1
                at = f"{case}, step {k + 1} of {steps}"
                value = values[k]
                if value is None:
                    raise _Failure(f"{name} returned None at {at}: return the loss", where)
                is_number = isinstance(value, (int, float, np.integer, np.floating)) or (
                    isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf")
                if isinstance(value, (bool, np.bool_)) or not is_number:
                    raise _Failure(f"{name} must return the loss as a float, got a {type(value).__name__} at {at}",
                                   where)
                if not _same_states(states[k:k + 1], ref_states[k:k + 1]):
                    hints = where[:]
                    for pname, p, q in zip(reference.named_parameters(), states[k], ref_states[k]):
                        if not _same_param(p, q):
                            hints += _field(f"{pname} expected", q, threshold=8)
                            hints += _field(f"{pname} got     ", p, threshold=8)
                            break
                    for wrong, message in _wrong_steps():
                        if _same_states(states, _trajectory(wrong, make(), X, y, loss, lr, steps)[1]):
                            hints.append(message)
                            break
                    raise _Failure(f"wrong parameters after {at}", hints)
                got_value = float(np.asarray(value).reshape(-1)[0])
                if not np.isclose(got_value, ref_values[k], rtol=1e-9, atol=1e-12):
                    hints = where + [f"expected {ref_values[k]:.6f}, got {got_value:.6f}"]
                    after = make()
                    _trajectory(_reference_step, after, X, y, loss, lr, k + 1)
                    if np.isclose(got_value, loss(y, after.predict(X)), rtol=1e-9):
                        hints.append("that is the loss after the update; return the value compute_gradients gives")
                    raise _Failure(f"wrong loss returned at {at}", hints)
        return n_checks

    _run(label, body)


def _layers_text(model: Model) -> str:
    return ", ".join(repr(layer) for layer in model.layers)


def check_accuracy_from_probs(accuracy_from_probs: Callable[[np.ndarray, np.ndarray], float]) -> None:
    """Check ``accuracy_from_probs(y, y_prob)``: the fraction of samples classified correctly.

    Parameters
    ----------
    accuracy_from_probs : callable
        ``accuracy_from_probs(y, y_prob)`` with labels ``y`` of shape ``(n,)``
        or ``(n, 1)`` and predicted probabilities ``y_prob`` of shape
        ``(n, 1)`` (what ``model.predict`` returns); class 1 where the
        probability is greater than 0.5. Returns a float in [0, 1].

    Returns
    -------
    None

    Notes
    -----
    Five inputs (three hidden) with different accuracies, labels of both
    shapes, and probabilities of exactly 0.5. Labels of shape ``(n,)`` against
    probabilities of shape ``(n, 1)`` broadcast into an ``(n, n)`` table, which
    gives a plausible but wrong number: the classic mistake this exercise is
    about.
    """
    name, label = "accuracy_from_probs", "ex-04-accuracy"

    def body() -> int:
        g = _gen(402)
        y_big = g.integers(0, 2, size=50).astype(float)
        p_big = np.clip(0.5 + (y_big - 0.5) * 0.5 + g.normal(scale=0.3, size=50), 0.0, 1.0).reshape(-1, 1)
        y_col = g.integers(0, 2, size=(12, 1)).astype(float)
        p_col = g.random(size=(12, 1))
        cases = [
            ("the first example", np.array([0, 1, 1, 0]), np.array([[0.2], [0.7], [0.4], [0.6]]), True),
            ("labels of shape (n, 1)", np.array([[1], [0], [1]]), np.array([[0.9], [0.3], [0.8]]), True),
            ("hidden test 1", y_big, p_big, False),
            ("hidden test 2", y_col, p_col, False),
            ("hidden test 3", np.array([0, 1, 0, 1, 1, 0, 0]),
             np.array([[0.5], [0.5], [0.1], [0.9], [0.51], [0.49], [0.5]]), False),
        ]
        for case, y, p, shown in cases:
            inputs = dict(y=y, y_prob=p)
            where = _describe(inputs, shown)
            got = _call_on(accuracy_from_probs, name, inputs, where)
            expected = accuracy(y, p)
            a = _as_array(got, name, "the accuracy")
            if a.size != 1:
                raise _Failure(f"{name} returned an array of shape {a.shape} on {case}; expected one number",
                               where + ["average the per-sample comparisons into a single fraction (np.mean)"])
            value = float(a.reshape(-1)[0])
            if abs(value - expected) > 1e-12:
                hints = where + [f"expected {expected:.4f}, got {value:.4f}"]
                yy = np.asarray(y, dtype=float)
                known = [
                    (float(np.mean((p > 0.5) == yy)) if yy.ndim == 1 else None,
                     "y of shape (n,) against predictions of shape (n, 1) broadcasts into an (n, n) table; "
                     "flatten both first (np.ravel)"),
                    (float(np.mean((np.ravel(p) >= 0.5) == np.ravel(y))),
                     "a probability of exactly 0.5 counts as class 0: use > 0.5"),
                    (100 * expected, "return a fraction between 0 and 1, not a percentage"),
                    (float(np.sum((np.ravel(p) > 0.5) == np.ravel(y))),
                     "return the fraction of correct samples, not their number"),
                    (1.0 - expected, "that is the error rate; return the fraction classified correctly"),
                ]
                hints += [msg for v, msg in known if v is not None and v != expected and abs(value - v) < 1e-12][:1]
                raise _Failure(f"wrong accuracy on {case}", hints)
        return len(cases)

    _run(label, body)


# ---------------------------------------------------------------------------------------------
# Chapter 5: persistence
# ---------------------------------------------------------------------------------------------
def _save_load_cases() -> list[tuple[str, Callable[[], Model], int, bool]]:
    def deep() -> Model:
        gen = np.random.default_rng(54)
        layers: list[Layer] = []
        activations = [ReLU, Tanh, Sigmoid, ReLU, Tanh]
        for i in range(6):
            layers.append(Dense(5, 5, rng=gen))
            if i < 5:
                layers.append(activations[i]())
        layers.append(Sigmoid())
        return Model(layers)

    return [
        ("the chapter's 4-8-8-1 model", lambda: Model([Dense(4, 8, rng=1), Tanh(), Dense(8, 8, rng=2), Tanh(),
                                                        Dense(8, 1, rng=3), Sigmoid()]), 4, True),
        ("hidden test 1 (ends without an activation, 2 outputs)",
         lambda: Model([Dense(3, 5, rng=51), ReLU(), Dense(5, 5, rng=52), Tanh(), Dense(5, 2, rng=53)]), 3, False),
        ("hidden test 2 (one neuron)", lambda: Model([Dense(2, 1, rng=55), Sigmoid()]), 2, False),
        ("hidden test 3 (12 layers, all 5 wide)", deep, 5, False),
        ("hidden test 4 (two Dense layers in a row)",
         lambda: Model([Dense(3, 4, rng=56), Dense(4, 2, rng=57)]), 3, False),
    ]


def _layer_text(layer: Any) -> str:
    return repr(layer) if isinstance(layer, Layer) else f"a {type(layer).__name__}"


def check_save_load(save_weights: Callable[[Model, str], Any], load_weights: Callable[[str], Model]) -> None:
    """Check ``save_weights(model, path)`` and ``load_weights(path)``: a round trip that keeps everything.

    Parameters
    ----------
    save_weights : callable
        ``save_weights(model, path)`` writing the model's architecture
        (every layer, activations included, in order) and parameters into the
        single ``.npz`` file ``path``, without pickled objects.
    load_weights : callable
        ``load_weights(path)`` returning a new :class:`nnlib.Model` rebuilt
        from that file.

    Returns
    -------
    None

    Notes
    -----
    Five models, four hidden: the chapter's, one ending without an activation,
    a single neuron, a 12-layer model whose Dense layers all have the same
    shape (a scrambled order goes unnoticed by shapes there, and names such as
    ``"layer10"`` sort before ``"layer2"``), and two Dense layers in a row.
    Biases are made non-zero so that weights and biases cannot be swapped
    unnoticed. Every file goes into a temporary folder that the checker
    creates and deletes. All models are saved first; then the originals'
    parameters are changed; then every file is loaded, so a loader that keeps
    the models in memory instead of reading the file fails. Each loaded model
    must have the same layers and give the same predictions as the original
    did when saved (to 12 significant digits; float64 round trips are exact).
    The file must be an ``.npz`` that ``np.load(path, allow_pickle=False)``
    reads completely, and must not be ``nnlib``'s own ``Model.save`` format.
    """
    label = "ex-05-save-load"

    def body() -> int:
        with tempfile.TemporaryDirectory(prefix="nnlib-exercise-") as folder:
            try:
                return run_all(folder)
            except _Failure as exc:  # the folder's random name must not reach the (compared) output
                exc.reason = exc.reason.replace(folder, "<tmp>")
                exc.hints = [line.replace(folder, "<tmp>") for line in exc.hints]
                raise

    def run_all(folder: str) -> int:
        cases = _save_load_cases()
        originals, saved, predictions, inputs = [], [], [], []
        for i, (case, make, n_in, shown) in enumerate(cases):
            model = make()
            gen = np.random.default_rng(500 + i)
            for layer in model.layers:
                if isinstance(layer, Dense):
                    layer.params["b"][...] = gen.normal(scale=0.5, size=layer.params["b"].shape)
            X = gen.normal(size=(8, n_in))
            fname = f"model{i + 1}.npz"
            path = os.path.join(folder, fname)
            where = [f"model: {_layers_text(model)}" if shown else f"model: {case}", f"path: {fname}"]
            _call(save_weights, "save_weights", (model, path), where)
            if not os.path.isfile(path):
                raise _Failure(f"save_weights wrote no file at the path it was given ({case})",
                               where + ["write exactly to path, e.g. np.savez(path, ...) with path ending in .npz"])
            _check_file(path, where, model)
            originals.append(model)
            saved.append({k: p.copy() for k, p in model.named_parameters().items()})
            predictions.append(model.predict(X))
            inputs.append(X)
        for model in originals:  # change the originals: a loader must read the files
            for p in model.parameters():
                p += 1.0
        for i, (case, make, n_in, shown) in enumerate(cases):
            fname = f"model{i + 1}.npz"
            reference = make()
            where = [f"model: {_layers_text(reference)}" if shown else f"model: {case}", f"path: {fname}"]
            loaded = _call(load_weights, "load_weights", (os.path.join(folder, fname),), where)
            if not isinstance(loaded, Model):
                raise _Failure(f"load_weights must return an nnlib Model, got a {type(loaded).__name__} ({case})",
                               where + ["rebuild the layers and return Model(layers)"])
            if any(loaded is m for m in originals):
                raise _Failure("load_weights returned the original model object instead of reading the file", where)
            _compare_layers(loaded, reference, case, where)
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    y_hat = loaded.predict(inputs[i])
            except Exception as exc:
                raise _Failure(f"the loaded model cannot predict ({case})",
                               where + [f"{type(exc).__name__}: {_one_line(exc)}"]) from None
            if y_hat.shape != predictions[i].shape or not np.allclose(y_hat, predictions[i], rtol=1e-12, atol=1e-15):
                hints = where + _field("expected", predictions[i][:3]) + _field("got     ", y_hat[:3])
                hints += _scrambled(loaded, saved[i])
                raise _Failure(f"the loaded model predicts differently from the saved one ({case})", hints)
        return len(cases)

    def _check_file(path: str, where: list[str], model: Model) -> None:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic.startswith(b"\x80"):
            raise _Failure("the saved file is a pickle",
                           where + ["store only numeric arrays and strings (e.g. the architecture as a JSON "
                                    "string) with np.savez; loading a pickle can run arbitrary code"])
        if magic.startswith(b"\x93NUMPY"):
            raise _Failure("the saved file is a single .npy array, not an .npz archive", where + ["use np.savez"])
        if not magic.startswith(b"PK"):
            raise _Failure("the saved file is not an .npz archive", where + ["write it with np.savez(path, ...)"])
        try:
            with np.load(path, allow_pickle=False) as data:
                contents = {key: data[key] for key in data.files}
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise _Failure("the saved file contains pickled Python objects",
                               where + ["store only numeric arrays and strings (e.g. the architecture as a JSON "
                                        "string); loading a pickle can run arbitrary code"]) from None
            raise _Failure("the saved file is not an .npz archive that np.load(path, allow_pickle=False) reads",
                           where + [_one_line(exc)]) from None
        except Exception as exc:
            raise _Failure("the saved file is not an .npz archive that np.load(path, allow_pickle=False) reads",
                           where + [f"{type(exc).__name__}: {_one_line(exc)}"]) from None
        marker = contents.get("__architecture__")
        if marker is not None and "nnlib-model" in str(marker):
            raise _Failure("the file is nnlib's own Model.save format; write your own save_weights", where)
        stored = sum(a.size for a in contents.values() if a.dtype.kind == "f")
        if stored < model.n_params:
            raise _Failure(f"the saved file holds {stored} floating-point numbers, but the model has "
                           f"{model.n_params} parameters", where + ["save every W and b into the file"])

    def _compare_layers(loaded: Model, reference: Model, case: str, where: list[str]) -> None:
        got, want = loaded.layers, reference.layers
        for j, expected_layer in enumerate(want):
            if j >= len(got):
                missing = ", ".join(repr(layer) for layer in want[j:])
                raise _Failure(f"the loaded model has {len(got)} layers, expected {len(want)} ({case})",
                               where + [f"missing at the end: {missing}"])
            layer = got[j]
            same = type(layer) is type(expected_layer) and (
                not isinstance(layer, Dense) or (layer.in_features, layer.out_features)
                == (expected_layer.in_features, expected_layer.out_features))
            if not same:
                raise _Failure(f"layer {j} of the loaded model is {_layer_text(layer)}, expected "
                               f"{expected_layer!r} ({case})",
                               where + ["store every layer, activations included, in order"])
        if len(got) > len(want):
            raise _Failure(f"the loaded model has {len(got)} layers, expected {len(want)} ({case})", where)

    _run(label, body)


def _scrambled(loaded: Model, saved: dict[str, np.ndarray]) -> list[str]:
    """Name the parameters whose values came back in the wrong place (``saved``: name -> value when saved)."""
    for key, value in loaded.named_parameters().items():
        if key in saved and saved[key].shape == value.shape and np.allclose(value, saved[key], rtol=1e-12, atol=1e-15):
            continue
        source = [k for k, v in saved.items() if v.shape == value.shape and np.array_equal(v, value)]
        if source:
            return [f"{key} holds the values saved from {source[0]}: the order of the arrays got mixed up"]
        if key in saved and saved[key].shape == value.shape:
            if np.allclose(value, saved[key], rtol=1e-6):
                return [f"{key} differs from the saved values in the 7th digit or so: save float64, not float32 "
                        "or rounded text"]
            return [f"{key} does not hold the values that were saved"]
    return []


# ---------------------------------------------------------------------------------------------
# Chapter 6: optimizers
# ---------------------------------------------------------------------------------------------
def _pair_or_triple(result: Any, name: str, names: Sequence[str], where: list[str]) -> tuple:
    """The reader's result as a tuple of ``len(names)`` values, or a FAIL saying what came back."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got_what = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        listed = ", ".join(names)
        raise _Failure(f"{name} must return {len(names)} arrays ({listed}), got {got_what}",
                       where + [f"return {listed}"])
    return tuple(result)


def check_momentum_step(momentum_step: Callable[..., tuple]) -> None:
    """Check ``momentum_step(p, g, v, lr, mu)``: one step of gradient descent with momentum.

    Parameters
    ----------
    momentum_step : callable
        ``momentum_step(p, g, v, lr, mu)`` with parameters ``p``, their
        gradient ``g`` and velocity ``v`` (all of the same shape), returning
        the new ``(p, v)``: :math:`v \\leftarrow \\mu v - \\text{lr}\\, g`, then
        :math:`p \\leftarrow p + v`, as new arrays (the inputs stay unchanged).

    Returns
    -------
    None

    Notes
    -----
    Four single steps (three hidden: a matrix of parameters, a first step
    from ``v = 0``, other values of ``lr`` and ``mu``), then a trajectory of
    six steps that carries ``v`` from one step to the next, compared with
    :class:`nnlib.SGD` with momentum on the same gradients. A wrong answer is
    compared with the classic mistakes: the velocity's sign flipped, the
    learning rate applied twice, the old velocity ignored or used for the step.
    """
    name, label = "momentum_step", "ex-06-momentum-step"

    def body() -> int:
        g_ = _gen(601)
        cases = [
            ("the first example", dict(p=np.array([1.0, -2.0, 0.5]), g=np.array([0.5, -1.0, 2.0]),
                                       v=np.array([0.1, 0.0, -0.2]), lr=0.1, mu=0.9), True),
            ("hidden test 1", dict(p=g_.normal(size=(3, 4)), g=g_.normal(size=(3, 4)), v=0.3 * g_.normal(size=(3, 4)),
                                   lr=0.05, mu=0.8), False),
            ("hidden test 2 (the first step, v = 0)", dict(p=g_.normal(size=5), g=g_.normal(size=5), v=np.zeros(5),
                                                           lr=0.01, mu=0.9), False),
            ("hidden test 3", dict(p=g_.normal(size=(2, 1)), g=g_.normal(size=(2, 1)), v=g_.normal(size=(2, 1)),
                                   lr=0.3, mu=0.5), False),
        ]
        for case, inputs, shown in cases:
            p, g, v, lr, mu = (inputs[k] for k in ("p", "g", "v", "lr", "mu"))
            where = _describe(inputs, shown)
            result = _call_on(momentum_step, name, inputs, where)
            p_new, v_new = _pair_or_triple(result, name, ("p", "v"), where)
            v_exp = mu * v - lr * g
            p_exp = p + v_exp
            shape_hint = (lambda shape, s=p.shape: f"p and v keep the shape of the parameters, {s}")
            _check_array(
                v_new, v_exp, name=name, what="the new v", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (lambda v=v, g=g, lr=lr, mu=mu: mu * v + lr * g,
                     "the velocity has the wrong sign: in this chapter v = mu * v - lr * g, and then p = p + v"),
                    (lambda g=g, lr=lr: -lr * g, "the old velocity v is ignored: v = mu * v - lr * g carries it "
                                                 "from one step to the next"),
                    (lambda v=v, g=g, mu=mu: mu * v - g, "the learning rate is missing: v = mu * v - lr * g"),
                    (lambda v=v, g=g, lr=lr, mu=mu: v - lr * g, "mu is missing: v = mu * v - lr * g"),
                ],
            )
            _check_array(
                p_new, p_exp, name=name, what="the new p", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (lambda p=p, v=v_exp, lr=lr: p + lr * v, "the learning rate is applied twice: it is already "
                                                             "in v, so p = p + v"),
                    (lambda p=p, v=v_exp: p - v, "p moves against the velocity: v already points downhill, "
                                                 "so p = p + v"),
                    (lambda p=p, v=v: p + v, "p moves by the old velocity: update v first, then p = p + (new) v"),
                    (lambda p=p, g=g, lr=lr: p - lr * g, "that is a plain gradient-descent step: p = p + v, "
                                                         "with the new v"),
                ],
            )
        # a trajectory: the reader's steps, carrying v, against nnlib's SGD with momentum
        lr, mu = 0.1, 0.9
        p_ref = np.array([[1.0, -0.5], [2.0, 0.25]])
        p, v = p_ref.copy(), np.zeros_like(p_ref)
        sgd = SGD(lr=lr, momentum=mu)
        for step in range(1, 7):
            g = 0.5 * p_ref + np.array([[0.1, -0.2], [0.3, 0.0]])      # the gradient at nnlib's point
            where = [f"input: a trajectory of 6 steps, lr = {lr}, mu = {mu}, starting from v = 0 (step {step})"]
            result = _call(momentum_step, name, (p.copy(), g.copy(), v.copy(), lr, mu), where)
            p_new, v_new = _pair_or_triple(result, name, ("p", "v"), where)
            sgd.step([p_ref], [g])
            p = _as_array(p_new, name, "the new p")
            v = _as_array(v_new, name, "the new v")
            if not _close(p, p_ref):
                raise _Failure(f"the trajectory drifts from nnlib's SGD(lr={lr}, momentum={mu}) at step {step}",
                               where + _field("expected p", p_ref) + _field("got p     ", p))
        return len(cases) + 1

    _run(label, body)


def check_adam_step(adam_step: Callable[..., tuple]) -> None:
    """Check ``adam_step(p, g, m, v, t, lr, beta1, beta2, eps)``: one Adam step with bias correction.

    Parameters
    ----------
    adam_step : callable
        ``adam_step(p, g, m, v, t, lr, beta1, beta2, eps)`` with parameters
        ``p``, their gradient ``g`` and the running averages ``m`` and ``v``
        (all of the same shape), and ``t`` the number of this step (1 on the
        first step); returns the new ``(p, m, v)`` as new arrays.

    Returns
    -------
    None

    Notes
    -----
    Four single steps (three hidden: a first step from ``m = v = 0``, other
    values of ``beta1`` and ``beta2``, a late step), then a trajectory of six
    steps, ``t`` = 1 to 6, compared with :class:`nnlib.Adam` on the same
    gradients. A wrong answer is compared with the classic mistakes: no bias
    correction (or only one of the two), ``t`` off by one, and ``eps`` in the
    wrong place.
    """
    name, label = "adam_step", "ex-06-adam-step"
    keys = ("p", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps")
    t_hint = ("t counts the steps from 1: on the first step the corrections divide by 1 - beta1 and "
              "1 - beta2; with t = 0 they would divide by zero")

    def averages(g, m, v, b1, b2):
        m_new = b1 * m + (1 - b1) * g
        v_new = b2 * v + (1 - b2) * g * g
        return m_new, v_new

    def update(p, m_new, v_new, lr, eps, c1, c2):
        return p - lr * (m_new / c1) / (np.sqrt(v_new / c2) + eps)

    def one_step(case: str, inputs: dict[str, Any], shown: bool) -> None:
        p, g, m, v, t, lr, b1, b2, eps = (inputs[k] for k in keys)
        where = _describe(inputs, shown)
        result = _call_on(adam_step, name, inputs, where, warning_hint=t_hint)
        p_new, m_new, v_new = _pair_or_triple(result, name, ("p", "m", "v"), where)
        m_exp, v_exp = averages(g, m, v, b1, b2)
        c1, c2 = 1 - b1**t, 1 - b2**t
        p_exp = update(p, m_exp, v_exp, lr, eps, c1, c2)
        shape_hint = (lambda shape, s=p.shape: f"p, m and v keep the shape of the parameters, {s}")
        _check_array(
            m_new, m_exp, name=name, what="the new m", case=case, where=where, shown=shown,
            shape_hint=shape_hint,
            candidates=[
                (lambda m=m_exp, c1=c1: m / c1, "return m itself, not the bias-corrected m_hat: the correction "
                                                "is only used for the step"),
                (lambda m=m, g=g, b1=b1: b1 * g + (1 - b1) * m, "beta1 and (1 - beta1) are swapped: "
                                                                "m = beta1 * m + (1 - beta1) * g"),
            ],
        )
        _check_array(
            v_new, v_exp, name=name, what="the new v", case=case, where=where, shown=shown,
            shape_hint=shape_hint,
            candidates=[
                (lambda v=v_exp, c2=c2: v / c2, "return v itself, not the bias-corrected v_hat: the correction "
                                                "is only used for the step"),
                (lambda v=v, g=g, b2=b2: b2 * v + (1 - b2) * g, "v averages the squared gradients: "
                                                                "v = beta2 * v + (1 - beta2) * g**2"),
                (lambda v=v, g=g, b2=b2: b2 * g * g + (1 - b2) * v, "beta2 and (1 - beta2) are swapped"),
            ],
        )
        _check_array(
            p_new, p_exp, name=name, what="the new p", case=case, where=where, shown=shown,
            shape_hint=shape_hint,
            candidates=[
                (lambda: update(p, m_exp, v_exp, lr, eps, 1.0, 1.0),
                 "no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t before the step"),
                (lambda: update(p, m_exp, v_exp, lr, eps, c1, 1.0),
                 "only m is bias-corrected: v_hat = v / (1 - beta2**t) too"),
                (lambda: update(p, m_exp, v_exp, lr, eps, 1.0, c2),
                 "only v is bias-corrected: m_hat = m / (1 - beta1**t) too"),
                (lambda: update(p, m_exp, v_exp, lr, eps, 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)),
                 "the corrections use t + 1: t is already this step's number (1 on the first step)"),
                (lambda: update(p, m_exp, v_exp, lr, eps, 1 - b1 ** (t - 1), 1 - b2 ** (t - 1)),
                 "the corrections use t - 1, as a step counter starting at 0 would: " + t_hint),
                (lambda: p - lr * (m_exp / c1) / np.sqrt(v_exp / c2 + eps),
                 "eps goes outside the square root: sqrt(v_hat) + eps"),
                (lambda: p + lr * (m_exp / c1) / (np.sqrt(v_exp / c2) + eps),
                 "the step goes up the gradient: p = p - lr * m_hat / (sqrt(v_hat) + eps)"),
                (lambda: p - lr * (m_exp / c1) / (v_exp / c2 + eps),
                 "the square root of v_hat is missing"),
            ],
        )

    def body() -> int:
        g_ = _gen(602)
        cases = [
            ("the first example", dict(p=np.array([1.0, -2.0, 0.5]), g=np.array([0.5, -1.0, 2.0]),
                                       m=np.array([0.1, -0.1, 0.3]), v=np.array([0.02, 0.05, 0.5]), t=3,
                                       lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8), True),
            ("hidden test 1 (the first step, m = v = 0)",
             dict(p=g_.normal(size=(3, 4)), g=g_.normal(size=(3, 4)), m=np.zeros((3, 4)), v=np.zeros((3, 4)), t=1,
                  lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8), False),
            ("hidden test 2", dict(p=g_.normal(size=5), g=g_.normal(size=5), m=0.1 * g_.normal(size=5),
                                   v=0.1 * g_.random(size=5), t=4, lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6), False),
            ("hidden test 3 (step 2000)", dict(p=g_.normal(size=(2, 2)), g=g_.normal(size=(2, 2)),
                                               m=0.2 * g_.normal(size=(2, 2)), v=0.5 * g_.random(size=(2, 2)), t=2000,
                                               lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8), False),
        ]
        for case, inputs, shown in cases:
            one_step(case, inputs, shown)
        # a trajectory: t = 1, 2, ..., carrying m and v, against nnlib's Adam
        lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
        p_ref = np.array([[1.0, -0.5, 0.0], [2.0, 0.25, -1.0]])
        p, m, v = p_ref.copy(), np.zeros_like(p_ref), np.zeros_like(p_ref)
        adam = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
        for t in range(1, 7):
            g = p_ref * np.array([[0.5, 2.0, 1.0], [0.1, 4.0, 1.0]]) + np.array([[0.1, -0.2, 0.3], [0.0, 0.5, 1.0]])
            where = [f"input: a trajectory of 6 steps, t = 1 to 6, lr = {lr}, beta1 = {b1}, beta2 = {b2}, "
                     f"eps = {eps:g}, starting from m = v = 0 (step t = {t})"]
            result = _call(adam_step, name, (p.copy(), g.copy(), m.copy(), v.copy(), t, lr, b1, b2, eps), where,
                           warning_hint=t_hint)
            p_new, m_new, v_new = _pair_or_triple(result, name, ("p", "m", "v"), where)
            adam.step([p_ref], [g])
            p, m, v = (_as_array(a, name, f"the new {k}") for a, k in zip((p_new, m_new, v_new), "pmv"))
            if not _close(p, p_ref):
                raise _Failure(f"the trajectory drifts from nnlib's Adam(lr={lr}) at step t = {t}",
                               where + _field("expected p", p_ref) + _field("got p     ", p))
        return len(cases) + 1

    _run(label, body)


# ---------------------------------------------------------------------------------------------
# Chapter 7: digits
# ---------------------------------------------------------------------------------------------
def check_stable_softmax(stable_softmax: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``stable_softmax(Z)``: the softmax of every row of ``Z``, without overflow.

    Parameters
    ----------
    stable_softmax : callable
        ``stable_softmax(Z)`` with logits ``Z`` of shape ``(n, k)``, one row
        per sample, returning probabilities of the same shape whose rows sum
        to 1.

    Returns
    -------
    None

    Notes
    -----
    Six inputs (four hidden): the chapter's logits, logits near 1000 (the
    textbook formula overflows there, a warning and so a FAIL), random
    logits, a square ``Z`` (where normalising over the wrong axis, or
    subtracting a maximum without ``keepdims``, keeps the right shape), a
    single sample, and rows of very different sizes (subtracting the largest
    logit of the whole array instead of each row's makes a row underflow).
    """
    name, label = "stable_softmax", "ex-07-softmax"

    def body() -> int:
        g = _gen(701)
        cases = [
            ("the chapter's logits", np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0], [5.0, -5.0, 0.0]]), True),
            ("logits near 1000", np.array([[1000.0, 1001.0, 1002.0]]), True),
            ("hidden test 1", 3 * g.normal(size=(6, 10)), False),
            ("hidden test 2 (a square Z)", 2 * g.normal(size=(4, 4)), False),
            ("hidden test 3 (one sample)", g.normal(size=(1, 5)), False),
            ("hidden test 4 (rows of very different sizes)", np.array([[1000.0, 1001.0], [0.0, 1.0], [-2.0, 3.0]]),
             False),
        ]
        for case, Z, shown in cases:
            inputs = dict(Z=Z)
            where = _describe(inputs, shown)
            got = _call_on(stable_softmax, name, inputs, where,
                           warning_hint="subtract each row's own largest logit before np.exp: "
                                        "Z - Z.max(axis=1, keepdims=True) (without the shift np.exp overflows; "
                                        "with the largest logit of the whole array, a row far below it "
                                        "underflows to 0 / 0)")
            expected = softmax(Z)

            def shape_hint(shape, Z=Z):
                if shape == (Z.shape[0],) or shape == (Z.shape[0], 1):
                    return "return every probability, not one number per row: the output has the shape of Z"
                return f"the probabilities have the shape of Z, {Z.shape}"

            def by_columns(Z=Z):
                e = np.exp(Z - Z.max(axis=0, keepdims=True))
                return e / e.sum(axis=0, keepdims=True)

            def no_keepdims(Z=Z):
                e = np.exp(Z - Z.max(axis=1))
                return e / e.sum(axis=1, keepdims=True)

            def sum_no_keepdims(Z=Z):
                e = np.exp(Z - Z.max(axis=1, keepdims=True))
                return e / e.sum(axis=1)

            _check_array(
                got, expected, name=name, what="the probabilities", case=case, where=where, shown=shown,
                shape_hint=shape_hint,
                candidates=[
                    (by_columns, "each column sums to 1, not each row: normalise over the classes, axis=1 "
                                 "(one row per sample)"),
                    (lambda Z=Z: np.exp(Z - Z.max(axis=1, keepdims=True)) / np.exp(Z - Z.max(axis=1, keepdims=True))
                     .sum(), "the whole array sums to 1: divide each row by its own sum, "
                             "e.sum(axis=1, keepdims=True)"),
                    (no_keepdims, "Z.max(axis=1) without keepdims=True is subtracted column by column; "
                                  "use Z.max(axis=1, keepdims=True)"),
                    (sum_no_keepdims, "e.sum(axis=1) without keepdims=True divides column by column; "
                                      "use e.sum(axis=1, keepdims=True)"),
                    (lambda Z=Z: np.exp(Z - Z.max(axis=1, keepdims=True)), "the exponentials are not normalised: "
                                                                            "divide by their row sums"),
                ],
            )
        return len(cases)

    _run(label, body)


def check_cross_entropy_from_logits(cross_entropy_from_logits: Callable[[np.ndarray, np.ndarray], float]) -> None:
    """Check ``cross_entropy_from_logits(Z, y)``: the mean cross-entropy of logits and integer labels.

    Parameters
    ----------
    cross_entropy_from_logits : callable
        ``cross_entropy_from_logits(Z, y)`` with logits ``Z`` of shape
        ``(n, k)`` and integer labels ``y`` of shape ``(n,)``, returning
        :math:`-\\frac1n \\sum_i \\log \\operatorname{softmax}(Z)_{i, y_i}` as a
        float.

    Returns
    -------
    None

    Notes
    -----
    Six inputs (four hidden), compared with
    :class:`nnlib.SoftmaxCrossEntropy`: the chapter's three samples, logits
    ``(0, 800)`` whose softmax underflows to 0 (the log of that probability
    warns, a FAIL: the exercise asks for the log-softmax), random batches,
    a square ``Z`` and logits near 1000. A wrong value is compared with the
    classic mistakes (the mean over all :math:`n k` entries, the sum over the
    samples, the wrong sign, the probabilities of the wrong entries).
    """
    name, label = "cross_entropy_from_logits", "ex-07-cross-entropy"
    loss = SoftmaxCrossEntropy()

    def body() -> int:
        g = _gen(702)
        cases = [
            ("the chapter's three samples", np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0], [1.0, 1.0, 3.0]]),
             np.array([0, 1, 0]), True),
            ("logits (0, 800), correct class 0", np.array([[0.0, 800.0]]), np.array([0]), True),
            ("hidden test 1", 3 * g.normal(size=(8, 10)), g.integers(0, 10, size=8), False),
            ("hidden test 2 (a square Z)", 2 * g.normal(size=(5, 5)), np.array([4, 0, 2, 2, 1]), False),
            ("hidden test 3 (logits near 1000)", 1000 + g.normal(size=(4, 3)), np.array([2, 0, 1, 1]), False),
            ("hidden test 4 (one sample)", g.normal(size=(1, 4)), np.array([3]), False),
        ]
        for case, Z, y, shown in cases:
            inputs = dict(Z=Z, y=y)
            where = _describe(inputs, shown)
            got = _call_on(cross_entropy_from_logits, name, inputs, where,
                           warning_hint="compute log p with the log-softmax, z - max - log(sum(exp(z - max))) "
                                        "per row, not as np.log of the softmax: a probability that underflows to 0 "
                                        "gives log(0) = -inf")
            expected = float(loss(y, Z))
            a = _as_array(got, name, "the loss")
            if a.size != 1:
                hint = ("that is one loss per sample: return their mean" if a.shape in ((len(y),), (len(y), 1))
                        else "return the mean over the samples, a single number")
                raise _Failure(f"{name} returned an array of shape {a.shape} on {case}; expected one number",
                               where + [hint])
            value = float(a.reshape(-1)[0])
            if not np.isfinite(value):
                raise _Failure(f"the loss is {value} on {case}", where + [f"expected {expected:.4f}"])
            if not np.isclose(value, expected, rtol=RTOL, atol=ATOL):
                hints = where + [f"expected {expected:.4f}, got {value:.4f}"]
                n, k = Z.shape
                log_p = SoftmaxCrossEntropy.log_softmax(Z)
                picked = log_p[np.arange(n), y]
                known = [
                    (expected / k, f"that is the mean over all n * k entries; average over the n samples only "
                                   f"(here k = {k} classes)"),
                    (expected * n, "that is the sum over the samples; return their mean"),
                    (-expected, "the sign is wrong: the loss is minus the mean log-probability"),
                    (float(-np.mean(log_p[:, y])), "p[:, y] picks whole columns (an n x n table); pick one entry "
                                                   "per row: p[np.arange(n), y]"),
                    (float(-np.mean(Z[np.arange(n), y])), "the logits are not log-probabilities: subtract the "
                                                          "log-sum-exp of each row"),
                    (float(-np.mean(np.exp(picked))), "take the log of the probabilities"),
                ]
                hints += [msg for v, msg in known if not np.isclose(v, expected, rtol=1e-9)
                          and np.isclose(value, v, rtol=1e-9, atol=1e-12)][:1]
                raise _Failure(f"wrong loss on {case}", hints)
        return len(cases)

    _run(label, body)


def check_confusion_matrix(confusion_matrix: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> None:
    """Check ``confusion_matrix(y_true, y_pred, k)``: counts of (true class, predicted class) pairs.

    Parameters
    ----------
    confusion_matrix : callable
        ``confusion_matrix(y_true, y_pred, k)`` with integer labels
        ``y_true`` and ``y_pred`` of shape ``(n,)`` in ``0 .. k-1``, returning a
        ``(k, k)`` array whose entry ``[i, j]`` counts the samples of true
        class ``i`` predicted as ``j``.

    Returns
    -------
    None

    Notes
    -----
    Five inputs (three hidden), among them a class that never occurs (the
    matrix must still be ``k`` by ``k``) and many repeated pairs (a fancy-indexed
    ``C[y_true, y_pred] += 1`` counts each pair only once). A wrong answer is
    compared with the transposed matrix and with row-normalised fractions.
    """
    name, label = "confusion_matrix", "ex-07-confusion-matrix"

    def reference(y_true, y_pred, k):
        C = np.zeros((k, k), dtype=int)
        np.add.at(C, (y_true, y_pred), 1)
        return C

    def body() -> int:
        g = _gen(703)
        y_big = g.integers(0, 10, size=200)
        p_big = np.where(g.random(200) < 0.8, y_big, g.integers(0, 10, size=200))
        cases = [
            ("the first example", np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3, True),
            ("a class that never occurs", np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0]), 3, True),
            ("hidden test 1 (200 samples, 10 classes)", y_big, p_big, 10, False),
            ("hidden test 2", np.array([1, 0, 1, 1, 0, 1, 1]), np.array([0, 0, 0, 1, 1, 0, 1]), 2, False),
            ("hidden test 3", np.array([3, 3, 1, 0, 2, 3]), np.array([2, 3, 3, 0, 1, 1]), 4, False),
        ]
        for case, y_true, y_pred, k, shown in cases:
            inputs = dict(y_true=y_true, y_pred=y_pred, k=k)
            where = _describe(inputs, shown)
            got = _call_on(confusion_matrix, name, inputs, where)
            expected = reference(y_true, y_pred, k)

            def fancy(y_true=y_true, y_pred=y_pred, k=k):
                C = np.zeros((k, k))
                C[y_true, y_pred] += 1
                return C

            def shape_hint(shape, k=k):
                if len(shape) == 2 and shape[0] == shape[1] and shape[0] < k:
                    return (f"the matrix is k by k with k = {k}, even when a class never occurs: "
                            "size it with k, not with the largest label")
                return f"one row and one column per class: ({k}, {k})"

            _check_array(
                got, expected.astype(np.float64), name=name, what="the confusion matrix", case=case, where=where,
                shown=shown, shape_hint=shape_hint,
                candidates=[
                    (lambda e=expected: e.T, "the matrix is transposed: rows are the true classes, columns the "
                                             "predicted ones, C[y_true[m], y_pred[m]] += 1"),
                    (fancy, "C[y_true, y_pred] += 1 counts a repeated pair only once (fancy indexing does not "
                            "accumulate): use np.add.at(C, (y_true, y_pred), 1) or a loop"),
                    (lambda e=expected: e / np.maximum(e.sum(axis=1, keepdims=True), 1),
                     "return the counts, not the fractions of each row"),
                ],
            )
        return len(cases)

    _run(label, body)
