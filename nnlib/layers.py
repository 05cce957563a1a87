"""The layer interface and the fully-connected :class:`Dense` layer.

Every layer follows the same contract (the one Saito's *Deep Learning from
Scratch* made popular):

* ``forward(x)`` computes the output and keeps what ``backward`` will need;
* ``backward(grad)`` takes :math:`\\partial L/\\partial \\text{output}`, fills
  ``layer.grads`` (same keys and shapes as ``layer.params``) and returns
  :math:`\\partial L/\\partial x`;
* a layer **never** changes its own parameters: an optimizer does that.

The public ``forward``/``backward`` check their inputs; :class:`nnlib.Model`
calls the unchecked ``_forward``/``_backward`` inside its training loop, after
checking the data once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_float_array, as_generator, check_2d, check_finite, check_fraction, check_positive_int
from .initializers import get_initializer


class Layer:
    """Base class of all layers.

    Attributes
    ----------
    params : dict of str to ndarray
        Trainable parameters (empty for layers without any).
    grads : dict of str to ndarray
        Gradients of the loss with respect to ``params``, same keys and shapes,
        filled by ``backward``.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        # (parameter buffer, gradient buffer, the views handed out) once _store has run
        self._buffers: tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None = None

    def _store(self, values: dict[str, np.ndarray], dtype: Any = np.float64) -> None:
        """Keep the parameters in one contiguous buffer and the gradients in another.

        ``params[k]`` and ``grads[k]`` are views into these two buffers, made
        once, when the layer is built: an array taken from ``params`` stays the
        layer's parameter for the layer's whole life, and an optimizer can update
        all of a layer's parameters with a few whole-buffer operations instead of
        a few per array (at small sizes NumPy's per-call cost, not arithmetic,
        limits speed). Only :meth:`nnlib.Model.astype` makes new arrays.
        """
        dtype = np.dtype(dtype)
        total = sum(int(np.size(v)) for v in values.values())
        flat_p, flat_g = np.empty(total, dtype=dtype), np.zeros(total, dtype=dtype)
        self.params, self.grads = {}, {}
        offset = 0
        for key, value in values.items():
            shape, size = np.shape(value), int(np.size(value))
            self.params[key] = flat_p[offset : offset + size].reshape(shape)
            self.params[key][...] = value
            self.grads[key] = flat_g[offset : offset + size].reshape(shape)
            offset += size
        self._buffers = (flat_p, flat_g, [*self.params.values(), *self.grads.values()])

    def _set_dtype(self, dtype: Any) -> None:
        """Convert the parameters to ``dtype`` (new buffers); gradients restart at zero."""
        if self.params:
            self._store(dict(self.params), dtype)

    def _optimizer_arrays(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """What an optimizer updates: the two buffers, or the arrays if someone replaced one."""
        buffers = self._buffers
        if buffers is not None and len(buffers[2]) == 2 * len(self.params) and all(
            a is b for a, b in zip([*self.params.values(), *(self.grads[k] for k in self.params)], buffers[2])
        ):
            return [buffers[0]], [buffers[1]]
        return list(self.params.values()), [self.grads[k] for k in self.params]

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def n_params(self) -> int:
        """Number of trainable numbers in the layer."""
        return int(sum(p.size for p in self.params.values()))

    def output_features(self, in_features: int) -> int:
        """Width of the output for an input of width ``in_features``."""
        return in_features

    def get_config(self) -> dict[str, Any]:
        """What is needed to rebuild the layer (not its parameter values)."""
        return {"type": self.name}

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.name}()"


class Dense(Layer):
    """Fully-connected layer: :math:`Y = X W + b`.

    Parameters
    ----------
    in_features : int
        Number of inputs per sample (columns of ``X``).
    out_features : int
        Number of neurons, i.e. outputs per sample.
    init : str, default "xavier"
        Name of the weight initialiser: ``"zeros"``, ``"normal"``, ``"small"``,
        ``"xavier"`` (alias ``"glorot"``) or ``"he"``. Biases always start at 0.
    rng : None, int or numpy.random.Generator
        Source of randomness for the initial weights; an int seed gives the same
        weights every time.
    weight_decay : float, default 0
        L2 regularisation :math:`\\lambda` of the weights (not the biases): the
        model's training loss gets :math:`\\tfrac{\\lambda}{2}\\lVert W \\rVert^2` added, so
        its gradient gets :math:`\\lambda W` (see :meth:`nnlib.Model.penalty`). It is
        part of the layer's configuration and is saved with the model.

    Attributes
    ----------
    params : dict
        ``"W"``: ndarray of shape ``(in_features, out_features)``, one row per
        input and one column per neuron; ``"b"``: ndarray of shape
        ``(out_features,)``, one bias per neuron. This is the layout of
        scikit-learn's ``coefs_`` and ``intercepts_``.
    grads : dict
        ``"W"`` and ``"b"``, the gradients of the loss, filled by ``backward``.

    Notes
    -----
    For a batch ``X`` of shape ``(n, in_features)`` and an upstream gradient
    :math:`G = \\partial L/\\partial Y` of shape ``(n, out_features)``:

    .. math::

        \\frac{\\partial L}{\\partial W} = X^\\top G, \\qquad
        \\frac{\\partial L}{\\partial b} = \\textstyle\\sum_i G_{i,:}, \\qquad
        \\frac{\\partial L}{\\partial X} = G W^\\top.

    The loss's own gradient already carries the :math:`1/n` of a batch mean,
    so the layer does not divide again.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "xavier",
        rng: None | int | np.random.Generator = None,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features", "Dense")
        self.out_features = check_positive_int(out_features, "out_features", "Dense")
        self.weight_decay = check_fraction(weight_decay, "weight_decay", "Dense", high=np.inf)
        initializer = get_initializer(init)
        self.init = init
        gen = as_generator(rng, "Dense")
        W = np.asarray(initializer(self.in_features, self.out_features, gen), dtype=np.float64)
        self._store({"W": W, "b": np.zeros(self.out_features)})
        self._x: np.ndarray | None = None

    def output_features(self, in_features: int) -> int:
        return self.out_features

    def get_config(self) -> dict[str, Any]:
        config = {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features}
        if self.weight_decay:
            config["weight_decay"] = self.weight_decay
        return config

    def __repr__(self) -> str:
        decay = f", weight_decay={self.weight_decay:g}" if self.weight_decay else ""
        return f"Dense({self.in_features} -> {self.out_features}{decay})"

    # -- checked public interface -------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``x @ W + b`` for ``x`` of shape ``(n_samples, in_features)``."""
        x = check_2d(x, "x", repr(self), self.in_features)
        return self._forward(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Fill ``grads["W"]``, ``grads["b"]`` and return the gradient for ``x``."""
        if self._x is None:
            raise RuntimeError(f"{self!r}: call forward(x) before backward(grad).")
        grad = check_2d(grad, "grad", repr(self) + ".backward", self.out_features)
        if grad.shape[0] != self._x.shape[0]:
            raise ValueError(
                f"{self!r}.backward: grad has {grad.shape[0]} rows but the last forward pass "
                f"had {self._x.shape[0]} samples; pass the gradient of that same batch."
            )
        return self._backward(grad)

    # -- fast path used by Model ----------------------------------------------------
    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x  # kept (not copied) for backward; it is never modified
        out = x @ self.params["W"]
        out += self.params["b"]  # in place: one array per call instead of two
        return out

    def _backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        # Write into the existing gradient arrays so that an optimizer holding
        # them (or a view of them) always sees the latest values.
        np.matmul(self._x.T, grad, out=self.grads["W"])
        grad.sum(axis=0, out=self.grads["b"])
        if not need_input_grad:
            return None
        return grad @ self.params["W"].T


class Activation(Layer):
    """Base class of element-wise activation layers (no parameters).

    Subclasses implement ``_forward(x)``, which keeps what the derivative
    needs (by default the output, in ``self._out``), and ``_backward(grad)``, which multiplies the incoming gradient by
    the local derivative (the chain rule: never return the local derivative alone).
    """

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None  # the forward output, which most derivatives need

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "x", repr(self))
        check_finite(x, "x", repr(self))
        return self._forward(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        cached = self._cache()
        if cached is None:
            raise RuntimeError(f"{self!r}: call forward(x) before backward(grad).")
        grad = as_float_array(grad, "grad", repr(self) + ".backward")
        if grad.shape != cached.shape:
            raise ValueError(
                f"{self!r}.backward: grad has shape {grad.shape} but the last forward "
                f"output had shape {cached.shape}; they must match."
            )
        check_finite(grad, "grad", repr(self) + ".backward")
        return self._backward(grad)

    def _cache(self) -> np.ndarray | None:
        """What the last forward pass kept for backward (None before any forward pass)."""
        return self._out

    def _backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class Dropout(Layer):
    """Inverted dropout: while the model trains, each input is zeroed with probability ``rate``.

    The inputs that are kept are divided by ``1 - rate``, so that every input
    keeps its expected value and nothing needs rescaling afterwards. Outside
    training (``predict``, ``evaluate``, validation) the layer passes its input
    through unchanged.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of dropping each input; 0 keeps everything.

    Notes
    -----
    :meth:`nnlib.Model.fit` switches dropout on for its training batches only
    and draws the masks from its own ``rng``, after the shuffling: the same
    seed gives the same masks, so the same run, bit for bit. A new mask is
    drawn for every batch; ``backward`` multiplies the incoming gradient by
    the mask of the last forward pass, which is the derivative of
    :math:`y = x \\odot m` with respect to :math:`x`.

    Used on its own, ``forward(x, training=True, rng=...)`` applies one mask.
    """

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = check_fraction(rate, "rate", "Dropout")
        self._mask: np.ndarray | None = None  # the last training mask, scaled by 1/(1 - rate)
        self._shape: tuple[int, ...] | None = None  # shape of the last forward input
        self._gen: np.random.Generator | None = None  # set by Model.fit while it trains

    def get_config(self) -> dict[str, Any]:
        return {"type": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate:g})"

    def forward(self, x: np.ndarray, *, training: bool = False, rng: None | int | np.random.Generator = None) -> np.ndarray:
        """``x`` unchanged, or with ``training=True`` a random mask (drawn from ``rng``) applied."""
        x = as_float_array(x, "x", repr(self))
        check_finite(x, "x", repr(self))
        saved = self._gen
        self._gen = as_generator(rng, repr(self)) if training else None
        try:
            return self._forward(x)
        finally:
            self._gen = saved

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """The gradient for ``x``: ``grad`` times the last forward pass's mask (``grad`` itself outside training)."""
        if self._shape is None:
            raise RuntimeError(f"{self!r}: call forward(x) before backward(grad).")
        grad = as_float_array(grad, "grad", repr(self) + ".backward")
        if grad.shape != self._shape:
            raise ValueError(
                f"{self!r}.backward: grad has shape {grad.shape} but the last forward input "
                f"had shape {self._shape}; they must match."
            )
        check_finite(grad, "grad", repr(self) + ".backward")
        return self._backward(grad)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        if self._gen is None or self.rate == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        mask = (self._gen.random(x.shape) < keep).astype(x.dtype)
        mask *= x.dtype.type(1.0 / keep)
        self._mask = mask
        return x * mask

    def _backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        return grad if self._mask is None else grad * self._mask
