"""Checkers of chapter 8's coding exercises (Adam).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnlib import Adam

from ._checking import (Measured, _Failure, _call, _call_on, _check_array, _describe, _field, _as_array, _close, _gen)
from .ch07 import _pair_or_triple
from .registry import exercise


@exercise("ex-08-adam-step", answers=("adam_step",),
          forbidden=("nnlib.optimizers.Optimizer.step", "nnlib.optimizers.Adam._step",))
def check_adam_step(adam_step: Callable[..., tuple]) -> int:
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
    name = "adam_step"
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
                (lambda m=m_exp, b1=b1: m / (1 - b1), "you returned m / (1 - beta1), the form nnlib's Adam keeps "
                                                      "inside (it folds the corrections into the step): return "
                                                      "the running average m itself"),
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
                (lambda v=v_exp, b2=b2: v / (1 - b2), "you returned v / (1 - beta2), the form nnlib's Adam keeps "
                                                      "inside (it folds the corrections into the step): return "
                                                      "the running average v itself"),
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

    return body()




# ---------------------------------------------------------------------------------------------
# The experiment: Adam settings inside the window
# ---------------------------------------------------------------------------------------------
@exercise("ex-08-experiment", answers=("choose_adam",), forbidden=())
def check_adam_settings(choose_adam: Callable[[], tuple]) -> int:
    """Check ``choose_adam()``: Adam settings that train source B's network reliably in 5 epochs.

    Parameters
    ----------
    choose_adam : callable
        ``choose_adam()`` returning ``(lr, beta1, beta2)``: a learning rate
        in (0, 10] and two decay rates in [0, 1).

    Returns
    -------
    None

    Notes
    -----
    The checker trains source B's 2-25-50-50-25-1 network (He
    initialisation) itself, with ``Adam(lr, beta1, beta2)``, batches of 32,
    for 5 epochs, on 5 fresh two-moons data sets (noise 0.2, 800 training
    points, a new start and shuffling each), and measures each on 2000 fresh
    points. At least 4 of the 5 runs must reach a test accuracy of 0.94: a
    rate at the upper edge of Adam's window, where training turns chaotic,
    fails some of them, and one too low is too slow for the budget.
    """
    from .ch07 import _setting, _settings, train_source_b

    name = "choose_adam"
    epochs, batch_size, n_sets, needed, target = 5, 32, 5, 4, 0.94

    def body() -> int:
        result = _settings(_call(choose_adam, name, ()), name, ("lr", "beta1", "beta2"))
        lr = _setting(result[0], "lr", 0.0, 10.0, low_open=True, high_open=False)
        beta1 = _setting(result[1], "beta1", 0.0, 1.0, low_open=False, high_open=True)
        beta2 = _setting(result[2], "beta2", 0.0, 1.0, low_open=False, high_open=True)
        chosen = f"lr {lr:g}, beta1 {beta1:g}, beta2 {beta2:g}"
        accuracies = []
        for k in range(n_sets):
            try:
                accuracies.append(train_source_b(Adam(lr=lr, beta1=beta1, beta2=beta2), epochs, batch_size, 830 + k))
            except _Failure as exc:
                exc.reason = f"{exc.reason} (data set {k + 1} of {n_sets}, {chosen})"
                raise
        hits = sum(a >= target for a in accuracies)
        measured = (f"test accuracy {target} or more on {hits} of {n_sets} fresh data sets (target {needed} of "
                    f"{n_sets}), lowest {min(accuracies):.3f}, after {epochs} epochs of batches of {batch_size}")
        if hits < needed:
            raise _Failure(measured + f"; {chosen}",
                           ["test accuracy per data set: " + ", ".join(f"{a:.3f}" for a in accuracies),
                            "the chapter's learning-rate table shows Adam's window: too low is slow, "
                            "at its upper edge training turns chaotic"])
        return Measured(n_sets, measured)
    return body()
