r"""Weight initialisers for :class:`nnlib.Dense`.

Each initialiser takes ``(fan_in, fan_out, rng)`` and returns a weight matrix of
shape ``(fan_in, fan_out)``: one row per input, one column per output unit.
Choose one by name with ``Dense(..., init="he")``.

========== =========================================================== ==========================
name       distribution                                                typical use
========== =========================================================== ==========================
zeros      all weights 0                                               a cautionary example only
normal     :math:`\mathcal N(0, 1)`, unscaled                          what source A does
small      :math:`\mathcal N(0, 0.1^2)`                                what sources B and C do
xavier     :math:`U(-a, a)`, :math:`a = \sqrt{6/(n_{in}+n_{out})}`     sigmoid and tanh layers
he         :math:`\mathcal N(0, 2/n_{in})`                             ReLU layers
========== =========================================================== ==========================
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator], np.ndarray]


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """All zeros: every unit of the layer computes the same thing forever."""
    return np.zeros((fan_in, fan_out))


def normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Standard normal, no scaling: weighted sums grow like sqrt(fan_in)."""
    return rng.standard_normal((fan_in, fan_out))


def small(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Normal with standard deviation 0.1, whatever the layer's size."""
    return 0.1 * rng.standard_normal((fan_in, fan_out))


def xavier(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform: keeps the variance of signals and gradients about 1."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def he(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming normal: variance 2/fan_in, making up for ReLU zeroing half its inputs."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


#: Every initialiser by name; ``"glorot"`` is another name for ``"xavier"``.
INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "normal": normal,
    "small": small,
    "xavier": xavier,
    "glorot": xavier,
    "he": he,
}


def get_initializer(name: str) -> Initializer:
    """Look up an initialiser by name, listing the valid names if it is unknown."""
    if not isinstance(name, str) or name not in INITIALIZERS:
        valid = ", ".join(repr(k) for k in INITIALIZERS)
        raise ValueError(f"Unknown initialiser {name!r}; choose one of {valid}.")
    return INITIALIZERS[name]
