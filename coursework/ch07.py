"""Checkers of chapter 7's coding exercises (momentum and minibatches).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nnlib import SGD

from ._checking import (_Failure, _call, _call_on, _check_array, _describe, _field, _as_array, _close, _gen)
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
