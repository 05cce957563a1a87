"""Checkers of chapter 1's coding exercises (neurons).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnlib import sigmoid

from ._checking import (Measured, _Failure, _call, _call_on, _check_array, _describe, _fmt, _as_array, _grad_check_hint,
                        _central_difference, _gen, _layers_text)
from ._experiment import measured_accuracy, rebuilt_model
from .registry import exercise


_X_CHAPTER1 = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
_W_CHAPTER1 = np.array([0.8, 0.2, -0.4])


@exercise("ex-01-neuron-forward", answers=("neuron_forward",),
          forbidden=("nnlib.activations.sigmoid", "nnlib.activations.Sigmoid._forward", "scipy.special.expit",))
def check_neuron_forward(neuron_forward: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> int:
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
    name = "neuron_forward"

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

    return body()


@exercise("ex-01-tanh-derivative", answers=("tanh_derivative",),
          forbidden=("nnlib.activations.Tanh._backward",))
def check_tanh_derivative(tanh_derivative: Callable[[np.ndarray], np.ndarray]) -> int:
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
    name = "tanh_derivative"

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
                     "1 - z**2 uses the input z; the formula is written with the output, tanh(z)"),
                    (lambda t=t: 1.0 - t, "the square is missing: 1 - tanh(z)**2"),
                    (lambda t=t: t, "that is tanh itself, not its derivative"),
                    (lambda t=t: t * t, "that is tanh(z)**2; the derivative is 1 minus it"),
                    (lambda t=t: t * (1.0 - t), "t * (1 - t) is the sigmoid's pattern; tanh's is 1 - t**2"),
                ],
                extra=lambda got, z=z: _grad_check_hint(
                    got, _central_difference(lambda v: float(np.sum(np.tanh(v))), z), "tanh"),
            )
        return len(cases)

    return body()


_X_GATE = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_GATES = {
    "AND": np.array([0.0, 0.0, 0.0, 1.0]),
    "OR": np.array([0.0, 1.0, 1.0, 1.0]),
    "NAND": np.array([1.0, 1.0, 1.0, 0.0]),
    "NOR": np.array([1.0, 0.0, 0.0, 0.0]),
}


@exercise("ex-01-gate-weights", answers=("gate_weights",))
def check_gate_weights(gate_weights: Callable[[str], tuple[np.ndarray, float]]) -> int:
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
    name = "gate_weights"

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

    return body()




# ---------------------------------------------------------------------------------------------
# Experiment: one neuron on two elongated clouds
# ---------------------------------------------------------------------------------------------
CLOUDS_TRAIN, CLOUDS_FRESH, CLOUDS_TARGET = 400, 2000, 0.95


def clouds_geometry(gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random centre and orientation: the clouds' long axis ``u`` and short axis ``v``."""
    angle = gen.uniform(0.0, np.pi)
    u = np.array([np.cos(angle), np.sin(angle)])
    return gen.uniform(-2.0, 2.0, size=2), u, np.array([-u[1], u[0]])


def two_clouds(geometry: tuple[np.ndarray, np.ndarray, np.ndarray], gen: np.random.Generator,
               n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points, half of each class: Gaussian clouds with standard deviations 3 (along ``u``)
    and 0.5 (along ``v``), whose centres are 3 apart along ``u`` and 1.9 along ``v``."""
    centre, u, v = geometry
    y = np.repeat([0.0, 1.0], n // 2)
    offset = (3.0 * u + 1.9 * v) / 2
    noise = gen.standard_normal((n, 2)) * [3.0, 0.5]
    X = centre + np.where(y[:, None] == 1.0, offset, -offset) + noise[:, :1] * u + noise[:, 1:] * v
    return X, y


@exercise("ex-01-two-clouds", answers=("fit_neuron",), forbidden=())
def check_fit_neuron(fit_neuron: Callable[[np.ndarray, np.ndarray], Any]) -> int:
    """Check ``fit_neuron(X, y)``: one trained sigmoid neuron that separates two clouds.

    Parameters
    ----------
    fit_neuron : callable
        ``fit_neuron(X, y)`` that gets 400 points ``X`` of shape ``(400, 2)``
        and their labels ``y`` (0.0 or 1.0, shape ``(400,)``) and returns a
        trained ``nnlib.Model([Dense(2, 1), Sigmoid()])``.

    Returns
    -------
    None

    Notes
    -----
    Two hidden pairs of clouds, each with its own centre and orientation.
    The returned model counts only as its layers and parameters (rebuilt by
    :func:`coursework._experiment.rebuilt_model`); it must be one ``Dense(2,
    1)`` and a ``Sigmoid``. Its accuracy is measured on 2000 fresh points of
    the same clouds and must reach 0.95 on both pairs.
    """
    name = "fit_neuron"

    def body() -> int:
        accuracies = []
        for case in (1, 2):
            gen = _gen(110 + case)
            geometry = clouds_geometry(gen)
            X, y = two_clouds(geometry, gen, CLOUDS_TRAIN)
            X_fresh, y_fresh = two_clouds(geometry, gen, CLOUDS_FRESH)
            where = [f"input: hidden clouds {case} of 2, X of shape {X.shape}, y of shape {y.shape}"]
            model = rebuilt_model(_call_on(fit_neuron, name, dict(X=X, y=y), where), "the returned model")
            kinds = [type(layer).__name__ for layer in model.layers]
            if kinds != ["Dense", "Sigmoid"] or (model.in_features, model.out_features) != (2, 1):
                raise _Failure(f"the returned model is {_layers_text(model)}; this exercise asks for one neuron, "
                               "Dense(2, 1) followed by Sigmoid() (3 parameters)",
                               where + ["build it with Model([Dense(2, 1), Sigmoid()]) and train it with fit"])
            accuracy = measured_accuracy(model, X_fresh, y_fresh)
            if accuracy < CLOUDS_TARGET:
                hints = where + [f"accuracy {accuracy:.3f} on {CLOUDS_FRESH} fresh points of the same clouds "
                                 f"(target {CLOUDS_TARGET})"]
                if accuracy < 0.6:
                    hints.append("far from the target: was the model trained? (model.fit returns the "
                                 "history; the model itself is trained in place)")
                else:
                    hints.append("the best line depends on the clouds' shape, not only on their centres: "
                                 "let training find it (more epochs, or another learning rate)")
                raise _Failure(f"accuracy {accuracy:.3f} on the fresh points of hidden clouds {case}, below the "
                               f"target {CLOUDS_TARGET}", hints)
            accuracies.append(accuracy)
        shown = " and ".join(f"{a:.3f}" for a in accuracies)
        return Measured(2, f"accuracy {shown} on {CLOUDS_FRESH} fresh points of two hidden pairs of clouds "
                           f"(target {CLOUDS_TARGET}), 3 parameters")

    return body()
