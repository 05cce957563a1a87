"""Checkers of chapter 4's coding exercises (training).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnlib import BinaryCrossEntropy, Dense, Loss, Model, MSE, ReLU, SGD, Sigmoid, sigmoid, Tanh, TrainingDivergedError

from ._checking import (Measured, _layers_text, _Failure, _call, _describe, _field, _gen)
from .registry import exercise


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


@exercise("ex-04-train-step", answers=("train_step",),
          forbidden=("nnlib.optimizers.Optimizer.step", "nnlib.model.Model.fit",))
def check_train_step(train_step: Callable[[Model, np.ndarray, np.ndarray, Loss, float], float]) -> int:
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
    name = "train_step"
    steps = 3

    def reference_step(model: Model, X: np.ndarray, y: np.ndarray, loss: Loss, lr: float) -> float:
        value = model.compute_gradients(X, y, loss)
        for p, grad in zip(model.parameters(), model.gradients()):
            p -= lr * grad
        return value

    def body() -> int:
        n_checks = 0
        for case, make, X, y, loss, lr, shown in _train_cases():
            inputs = dict(X=X, y=y, lr=lr)
            model, reference = make(), make()
            where = _describe(inputs, shown) + [f"model: {_layers_text(reference)}, loss: {loss!r}"]

            def call(step, args, where=where):
                return _call(step, name, args, where)

            values, states = _trajectory(train_step, model, X, y, loss, lr, steps, call)
            ref_values, ref_states = _trajectory(reference_step, reference, X, y, loss, lr, steps)
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
                    _trajectory(reference_step, after, X, y, loss, lr, k + 1)
                    if np.isclose(got_value, loss(y, after.predict(X)), rtol=1e-9):
                        hints.append("that is the loss after the update; return the value compute_gradients gives")
                    raise _Failure(f"wrong loss returned at {at}", hints)
        return n_checks

    return body()


# ---------------------------------------------------------------------------------------------
# Experiment: settings that solve XOR from (almost) every start
# ---------------------------------------------------------------------------------------------
XOR_SEEDS, XOR_TARGET, XOR_EPOCHS, XOR_MAX_PARAMS = 20, 18, 2000, 30
_XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])
# Training stops early below these losses: each guarantees that all four points are classified right
# (cross-entropy: every p > exp(-0.4) > 0.5; MSE: every |error| < 0.2).
_XOR_STOP = {"binary_crossentropy": 0.1, "mse": 0.01}
_XOR_KEYS = ("hidden", "activation", "init", "output", "loss", "lr")
_XOR_CHOICES = {"activation": ("relu", "tanh", "sigmoid"), "init": (None, "xavier", "he", "normal", "small", "zeros"),
                "output": ("sigmoid", "linear"), "loss": ("binary_crossentropy", "mse")}


def xor_spec(settings: Any) -> tuple[list[dict[str, Any]], str | None, str, float]:
    """Validate the settings (FAIL with the reason); return the architecture, init, loss and lr."""
    if not isinstance(settings, dict):
        raise _Failure(f"xor_settings must return a dict, got a {type(settings).__name__}",
                       [f"a dict with the keys {', '.join(_XOR_KEYS)}"])
    missing = [key for key in _XOR_KEYS if key not in settings]
    unknown = sorted(str(key) for key in settings if key not in _XOR_KEYS)
    if missing or unknown:
        raise _Failure("the settings " + (f"lack {', '.join(missing)}" if missing else f"have unknown keys "
                                           f"{', '.join(unknown)}"),
                       [f"a dict with the keys {', '.join(_XOR_KEYS)}"])
    for key, choices in _XOR_CHOICES.items():
        if not any(settings[key] is choice or (isinstance(choice, str) and settings[key] == choice)
                   for choice in choices):
            raise _Failure(f"settings[{key!r}] is {settings[key]!r:.60}; "
                           f"choose one of {', '.join(repr(c) for c in choices)}")
    hidden = settings["hidden"]
    if not isinstance(hidden, (list, tuple)) or not 1 <= len(hidden) <= 4 or not all(
            isinstance(w, (int, np.integer)) and not isinstance(w, (bool, np.bool_)) and 1 <= w <= 30 for w in hidden):
        raise _Failure("settings['hidden'] must be a list of 1 to 4 hidden widths, whole numbers from 1 to 30, "
                       "e.g. [4]")
    lr = settings["lr"]
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (int, float, np.integer, np.floating)) \
            or not 0.0 < float(lr) <= 100.0:
        raise _Failure(f"settings['lr'] must be a number above 0 and at most 100, got {lr!r:.60}")
    if settings["loss"] == "binary_crossentropy" and settings["output"] != "sigmoid":
        raise _Failure("cross-entropy needs probabilities: with loss 'binary_crossentropy' the output must be "
                       "'sigmoid'")
    widths = [2] + [int(w) for w in hidden]
    spec = [{"input_dim": a, "output_dim": b, "activation": settings["activation"]} for a, b in zip(widths, widths[1:])]
    spec.append({"input_dim": widths[-1], "output_dim": 1,
                 "activation": "sigmoid" if settings["output"] == "sigmoid" else None})
    return spec, settings["init"], settings["loss"], float(lr)


def xor_solved(spec: list[dict[str, Any]], init: str | None, loss: str, lr: float, seed: int) -> bool:
    """Train the network of ``spec``, started from ``seed``, on XOR as the checker does; True if all four points
    end up on the right side of 0.5."""
    model = Model.from_architecture(spec, init=init, rng=seed)
    try:
        with np.errstate(all="ignore"):
            model.fit(_XOR_X, _XOR_Y, loss=loss, optimizer=SGD(lr=lr), epochs=XOR_EPOCHS,
                      loss_threshold=_XOR_STOP[loss])
            predicted = model.predict(_XOR_X)
    except TrainingDivergedError:
        return False
    return bool(np.all((predicted > 0.5) == (_XOR_Y > 0.5)))


@exercise("ex-04-xor-seeds", answers=("xor_settings",), forbidden=())
def check_xor_settings(xor_settings: Callable[[], dict]) -> int:
    """Check ``xor_settings()``: a network and learning rate that learn XOR from at least 18 of 20 starts.

    Parameters
    ----------
    xor_settings : callable
        ``xor_settings()`` returning a dict: ``"hidden"`` (a list of hidden
        widths), ``"activation"`` (``"relu"``, ``"tanh"`` or ``"sigmoid"``),
        ``"init"`` (an initialiser's name, or ``None`` for He before ReLU and
        Xavier elsewhere), ``"output"`` (``"sigmoid"`` or ``"linear"``),
        ``"loss"`` (``"binary_crossentropy"`` or ``"mse"``) and ``"lr"``.

    Returns
    -------
    None

    Notes
    -----
    The checker builds the network itself with
    :meth:`nnlib.Model.from_architecture` (at most 30 parameters), from 20
    hidden seeds, and trains each with full-batch ``SGD(lr)`` for at most
    2000 epochs (stopping early once the loss guarantees that every point is
    right). A seed counts as solved when all four XOR points end up on the
    right side of 0.5; at least 18 of 20 must be. It stops at the third
    failure.
    """
    name = "xor_settings"

    def body() -> int:
        spec, init, loss, lr = xor_spec(_call(xor_settings, name, (), []))
        n_params = Model.from_architecture(spec, init=init, rng=0).n_params
        if n_params > XOR_MAX_PARAMS:
            raise _Failure(f"the network has {n_params} parameters; the limit is {XOR_MAX_PARAMS}",
                           ["XOR needs only a few hidden units"])
        seeds = [int(s) for s in _gen(404).integers(0, 2**31, size=XOR_SEEDS)]
        failed = 0
        for i, seed in enumerate(seeds, 1):
            failed += not xor_solved(spec, init, loss, lr, seed)
            if failed > XOR_SEEDS - XOR_TARGET:
                raise _Failure(f"training failed from {failed} of the first {i} hidden seeds; at most "
                               f"{XOR_SEEDS - XOR_TARGET} of {XOR_SEEDS} may fail",
                               [f"network: {_layers_text(Model.from_architecture(spec, init=init, rng=0))}, "
                                f"loss {loss}, SGD(lr={lr:g}), at most {XOR_EPOCHS} epochs",
                                "a run fails when a point is still on the wrong side of 0.5 after the last epoch, "
                                "or when training diverges"])
        return Measured(XOR_SEEDS, f"XOR solved from {XOR_SEEDS - failed} of {XOR_SEEDS} hidden seeds (target "
                                   f"{XOR_TARGET}), {n_params} parameters (limit {XOR_MAX_PARAMS})")

    return body()
