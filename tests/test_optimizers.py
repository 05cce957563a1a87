"""SGD (plain and with momentum) and Adam against updates computed by hand."""

import numpy as np
import pytest

from nnlib import SGD, Adam


@pytest.fixture
def problem(rng):
    """Two parameter arrays and two successive gradients for each."""
    params = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    grads = [[rng.standard_normal(p.shape) * s for p, s in zip(params, (1.0, 1e-3))] for _ in range(2)]
    return params, grads


def test_plain_sgd_step_is_exact(problem):
    params, (g, _) = problem
    expected = [p - 0.1 * gi for p, gi in zip(params, g)]
    arrays = list(params)
    SGD(lr=0.1).step(params, g)
    for p, e, a in zip(params, expected, arrays):
        np.testing.assert_array_equal(p, e)
        assert p is a  # updated in place, so the layers holding it see the change


def test_sgd_with_momentum_two_steps(problem):
    params, (g1, g2) = problem
    lr, mu = 0.1, 0.9
    expected = []
    for p, a, b in zip(params, g1, g2):
        v = -lr * a
        p1 = p + v
        v = mu * v - lr * b
        expected.append(p1 + v)
    opt = SGD(lr=lr, momentum=mu)
    opt.step(params, g1)
    opt.step(params, g2)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p, e, rtol=1e-15, atol=1e-15)


def test_adam_two_steps_match_the_textbook_formula(problem):
    params, (g1, g2) = problem
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    expected = []
    for p, a, b in zip(params, g1, g2):
        p, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
        for t, g in ((1, a), (2, b)):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(p)
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    opt.step(params, g1)
    assert opt.t == 1
    opt.step(params, g2)
    assert opt.t == 2
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p, e, rtol=1e-12, atol=0)


def test_adam_first_step_moves_each_parameter_by_about_lr(problem):
    # After one step m_hat / sqrt(v_hat) = g / |g|: the size of the gradient does not matter.
    params, (g, _) = problem
    before = [p.copy() for p in params]
    Adam(lr=0.01).step(params, g)
    for p, b, gi in zip(params, before, g):
        np.testing.assert_allclose(p - b, -0.01 * np.sign(gi), rtol=1e-2)


def test_optimizers_do_not_modify_the_gradients(problem):
    params, (g, _) = problem
    before = [gi.copy() for gi in g]
    for opt in (SGD(lr=0.1), SGD(lr=0.1, momentum=0.5), Adam()):
        opt.step(params, g)
    for gi, b in zip(g, before):
        np.testing.assert_array_equal(gi, b)


class _LoopRecorder(np.ndarray):
    """An array that records the dtypes of every NumPy loop it takes part in."""

    loops: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        def dtype_of(x):
            # Python scalars are "weak" (they take the array's dtype); NumPy scalars, such
            # as np.float64 (a subclass of float), are not
            return type(x) if type(x) in (int, float) else np.asarray(x).dtype

        outs = kwargs.get("out", ())
        resolved = ufunc.resolve_dtypes(tuple(dtype_of(x) for x in inputs) + (None,) * ufunc.nout)
        _LoopRecorder.loops.append((ufunc.__name__, resolved))
        inputs = tuple(x.view(np.ndarray) if isinstance(x, _LoopRecorder) else x for x in inputs)
        if outs:
            kwargs["out"] = tuple(o.view(np.ndarray) for o in outs)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        return outs[0] if outs else result


@pytest.mark.parametrize("make", [lambda: SGD(lr=0.1), lambda: SGD(lr=0.1, momentum=0.9), lambda: Adam(lr=0.01)],
                         ids=["sgd", "momentum", "adam"])
def test_float32_parameters_are_updated_in_float32_arithmetic(make, rng):
    # A NumPy float64 scalar among the constants (np.sqrt of a float, say) would make
    # every operation on a float32 model run a float64 loop with conversions: the same
    # result, rounded, but several times slower.
    p = rng.standard_normal(10).astype(np.float32).view(_LoopRecorder)
    g = rng.standard_normal(10).astype(np.float32).view(_LoopRecorder)
    _LoopRecorder.loops = []
    opt = make()
    for _ in range(3):
        opt.step([p], [g])
    assert _LoopRecorder.loops, "the recorder saw no NumPy operation"
    wrong = [(name, dtypes) for name, dtypes in _LoopRecorder.loops if set(dtypes) != {np.dtype(np.float32)}]
    assert not wrong, f"operations not in float32: {wrong}"
    assert p.dtype == np.float32


def test_adam_starts_afresh_when_the_parameter_shapes_change():
    """Same number of arrays, other shapes: the state (m, v, t) is made anew, as for a new optimizer."""
    rng = np.random.default_rng(0)
    opt = Adam(0.1)
    for _ in range(3):
        opt.step([np.zeros((2, 3))], [rng.standard_normal((2, 3))])
    g = rng.standard_normal((3, 2))
    p, fresh = np.ones((3, 2)), np.ones((3, 2))
    opt.step([p], [g])
    Adam(0.1).step([fresh], [g])
    np.testing.assert_array_equal(p, fresh)
    assert opt.t == 1
