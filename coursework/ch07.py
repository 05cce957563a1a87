"""Checkers of chapter 7's coding exercises (momentum and minibatches).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from nnlib import SGD, BinaryCrossEntropy, Model, Optimizer, TrainingDivergedError

from ._checking import (Measured, _Failure, _call, _call_on, _check_array, _describe, _field, _as_array, _close, _gen)
from ._experiment import measured_accuracy
from .registry import exercise


def _pair_or_triple(result: Any, name: str, names: Sequence[str], where: list[str]) -> tuple:
    """The reader's result as a tuple of ``len(names)`` values, or a FAIL saying what came back."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got_what = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        listed = ", ".join(names)
        raise _Failure(f"{name} must return {len(names)} arrays ({listed}), got {got_what}",
                       where + [f"return {listed}"])
    return tuple(result)


@exercise("ex-07-momentum-step", answers=("momentum_step",),
          forbidden=("nnlib.optimizers.Optimizer.step", "nnlib.optimizers.SGD._step",))
def check_momentum_step(momentum_step: Callable[..., tuple]) -> int:
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
    name = "momentum_step"

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

    return body()


# ---------------------------------------------------------------------------------------------
# The experiment: settings that train source B's network within a budget
# ---------------------------------------------------------------------------------------------
# Source B's 2-25-50-50-25-1 network, as the chapter builds it (He initialisation).
SOURCE_B_ARCHITECTURE = [
    {"input_dim": 2, "output_dim": 25, "activation": "relu"},
    {"input_dim": 25, "output_dim": 50, "activation": "relu"},
    {"input_dim": 50, "output_dim": 50, "activation": "relu"},
    {"input_dim": 50, "output_dim": 25, "activation": "relu"},
    {"input_dim": 25, "output_dim": 1, "activation": "sigmoid"},
]
N_TRAIN, N_TEST = 800, 2000


def _setting(value: Any, name: str, low: float, high: float, *, low_open: bool, high_open: bool,
             integer: bool = False) -> float | int:
    """One returned setting as a number inside its range, or a FAIL saying what is wrong with it."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise _Failure(f"{name} must be {kind}, got a {type(value).__name__}")
    if integer and not isinstance(value, (numbers.Integral, np.integer)):
        if not (np.isfinite(value) and float(value).is_integer()):
            raise _Failure(f"{name} must be {kind}, got {value!r}")
    number = int(value) if integer else float(value)
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if not np.isfinite(number) or below or above:
        interval = ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
        raise _Failure(f"{name} must lie in {interval}, got {value!r}")
    return number


def _settings(result: Any, name: str, names: Sequence[str]) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise _Failure(f"{name} must return {len(names)} numbers ({', '.join(names)}), got {got}",
                       [f"return {', '.join(names)}"])
    return tuple(result)


def _moons(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, np.random.Generator]:
    """Fresh two moons (noise 0.2): 800 training points, 2000 test points, a start and a shuffling generator."""
    from sklearn.datasets import make_moons
    gen = _gen(seed)
    X, y = make_moons(n_samples=N_TRAIN + N_TEST, noise=0.2, random_state=int(gen.integers(2**31)))
    init = int(gen.integers(2**31))
    return X[:N_TRAIN], y[:N_TRAIN].astype(float), X[N_TRAIN:], y[N_TRAIN:], init, gen


def train_source_b(optimizer: Optimizer, epochs: int, batch_size: int, seed: int) -> float:
    """Train source B's network on fresh moons with ``optimizer``; its accuracy on 2000 fresh points.

    Raises ``_Failure`` when training diverges.
    """
    X_train, y_train, X_test, y_test, init, gen = _moons(seed)
    model = Model.from_architecture(SOURCE_B_ARCHITECTURE, rng=init)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            model.fit(X_train, y_train, loss=BinaryCrossEntropy(), optimizer=optimizer, epochs=epochs,
                      batch_size=batch_size, rng=gen)
        except TrainingDivergedError as exc:
            raise _Failure(f"training diverged: {str(exc).splitlines()[0]}",
                           ["the steps are too large: lower the learning rate (or the momentum)"]) from None
    return measured_accuracy(model, X_test, y_test)


@exercise("ex-07-experiment", answers=("choose_settings",), forbidden=())
def check_momentum_settings(choose_settings: Callable[[], tuple]) -> int:
    """Check ``choose_settings()``: SGD settings that train source B's network to 94 % in 10 epochs.

    Parameters
    ----------
    choose_settings : callable
        ``choose_settings()`` returning ``(lr, momentum, batch_size)``:
        a learning rate in (0, 10], a momentum in [0, 1) and a batch size,
        an integer from 8 to 800.

    Returns
    -------
    None

    Notes
    -----
    The checker trains source B's 2-25-50-50-25-1 network (He
    initialisation) itself, with ``SGD(lr, momentum)`` for 10 epochs at that
    batch size, on 4 fresh two-moons data sets (noise 0.2, 800 training
    points, a new start and shuffling each), and measures each on 2000 fresh
    points. The mean test accuracy must reach 0.94. Nothing the answer
    computes counts besides the three numbers.
    """
    name = "choose_settings"
    epochs, n_sets, target = 10, 4, 0.94

    def body() -> int:
        result = _settings(_call(choose_settings, name, ()), name, ("lr", "momentum", "batch_size"))
        lr = _setting(result[0], "lr", 0.0, 10.0, low_open=True, high_open=False)
        momentum = _setting(result[1], "momentum", 0.0, 1.0, low_open=False, high_open=True)
        batch_size = _setting(result[2], "batch_size", 8, N_TRAIN, low_open=False, high_open=False, integer=True)
        chosen = f"lr {lr:g}, momentum {momentum:g}, batch size {batch_size}"
        accuracies = []
        for k in range(n_sets):
            try:
                accuracies.append(train_source_b(SGD(lr=lr, momentum=momentum), epochs, batch_size, 730 + k))
            except _Failure as exc:
                exc.reason = f"{exc.reason} (data set {k + 1} of {n_sets}, {chosen})"
                raise
        mean = float(np.mean(accuracies))
        updates = epochs * -(-N_TRAIN // batch_size)
        measured = (f"mean test accuracy {mean:.3f} on {n_sets} fresh data sets (target {target}), "
                    f"{epochs} epochs = {updates} updates")
        if mean < target:
            raise _Failure(measured + f"; {chosen}",
                           ["test accuracy per data set: " + ", ".join(f"{a:.3f}" for a in accuracies),
                            "the chapter's tables say how the learning rate, momentum and batch size change "
                            "the number of updates needed"])
        return Measured(n_sets, measured)
    return body()
