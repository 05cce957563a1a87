"""The :class:`Model`: a stack of layers with predict, fit, save and load."""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np

from ._checks import as_generator, check_2d, check_positive_int
from ._progress import ProgressBar
from .activations import Sigmoid, Softmax, get_activation
from .layers import Dense, Layer
from .losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, get_loss
from .metrics import METRICS, accuracy, to_classes
from .optimizers import Optimizer


class History:
    """What :meth:`Model.fit` records, one value per epoch.

    Attributes
    ----------
    history : dict of str to list of float
        ``"loss"`` always; ``"accuracy"`` if asked for; ``"val_loss"`` and
        ``"val_accuracy"`` when validation data is given.
    epoch : list of int
        The epoch numbers, starting at 1.
    stop_reason : str or None
        Why training stopped before ``epochs`` (e.g. the loss threshold), or None.
    best_epoch : int or None
        With ``patience``: the epoch whose parameters the model ends with.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None
        self.best_epoch: int | None = None

    def _record(self, epoch: int, values: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self.epoch)}" + (f", {last})" if last else ")")


class Model:
    """A feed-forward network: layers applied one after another.

    Parameters
    ----------
    layers : iterable of Layer, optional
        Initial layers; more can be added with :meth:`add`.

    Examples
    --------
    >>> from nnlib import Model, Dense, ReLU, Sigmoid
    >>> model = Model([Dense(2, 8, rng=0), ReLU(), Dense(8, 1, rng=1), Sigmoid()])
    >>> model.predict([[0.0, 1.0]]).shape
    (1, 1)
    """

    def __init__(self, layers: Iterable[Layer] | None = None) -> None:
        self.layers: list[Layer] = []
        self._flat: tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None = None
        for layer in layers or []:
            self.add(layer)

    # -- building -------------------------------------------------------------------
    def add(self, layer: Layer) -> "Model":
        """Append a layer, checking that its input width fits the previous output."""
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise TypeError(f"Model.add: got the class {layer.__name__}, not a layer; did you mean {layer.__name__}()?")
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Model.add: expected a layer such as Dense(2, 8) or ReLU(), got {type(layer).__name__}."
            )
        width = self.out_features
        if isinstance(layer, Dense) and width is not None and layer.in_features != width:
            raise ValueError(
                f"Model.add: {layer!r} expects {layer.in_features} input(s) but the previous "
                f"layers output {width}; use Dense({width}, {layer.out_features})."
            )
        self.layers.append(layer)
        return self

    @classmethod
    def from_architecture(
        cls,
        spec: Sequence[dict[str, Any]],
        *,
        init: str | None = None,
        rng: None | int | np.random.Generator = None,
    ) -> "Model":
        """Build a model from a list of dicts, the format of source B.

        Parameters
        ----------
        spec : list of dict
            One dict per Dense layer with keys ``"input_dim"``, ``"output_dim"``
            and ``"activation"`` (``"relu"``, ``"sigmoid"``, ``"tanh"``, or
            ``None``/``"linear"`` for none). Each ``input_dim`` must equal the
            previous ``output_dim``.
        init : str, optional
            Weight initialiser for every Dense layer. By default ``"he"`` for
            layers followed by ReLU and ``"xavier"`` for the others.
        rng : None, int or Generator
            Drives every layer's initial weights, in order.

        Examples
        --------
        >>> spec = [{"input_dim": 2, "output_dim": 4, "activation": "relu"},
        ...         {"input_dim": 4, "output_dim": 1, "activation": "sigmoid"}]
        >>> Model.from_architecture(spec, rng=0).n_params
        17
        """
        where = "Model.from_architecture"
        example = "[{'input_dim': 2, 'output_dim': 4, 'activation': 'relu'}, ...]"
        if isinstance(spec, (str, bytes, dict)) or not isinstance(spec, Sequence):
            raise TypeError(f"{where}: expected a list of dicts like {example}, got {type(spec).__name__}.")
        if len(spec) == 0:
            raise ValueError(f"{where}: the architecture is empty; give at least one layer, like {example}.")
        allowed = ("input_dim", "output_dim", "activation")
        gen = as_generator(rng, where)
        model = cls()
        for i, entry in enumerate(spec):
            if not isinstance(entry, dict):
                raise TypeError(f"{where}: layer {i} is a {type(entry).__name__}, expected a dict like {example}.")
            unknown = sorted(set(entry) - set(allowed))
            if unknown:
                raise ValueError(
                    f"{where}: layer {i} has unknown key(s) {', '.join(map(repr, unknown))}; "
                    f"the allowed keys are {', '.join(map(repr, allowed))}."
                )
            missing = [k for k in allowed if k not in entry]
            if missing:
                raise ValueError(f"{where}: layer {i} is missing {', '.join(map(repr, missing))}.")
            for key in ("input_dim", "output_dim"):
                check_positive_int(entry[key], f"layer {i} {key!r}", where)
            if i > 0 and entry["input_dim"] != spec[i - 1]["output_dim"]:
                raise ValueError(
                    f"{where}: layer {i} has input_dim {entry['input_dim']} but layer {i - 1} has "
                    f"output_dim {spec[i - 1]['output_dim']}; they must be equal."
                )
            act_name = entry["activation"]
            activation = None
            if act_name is not None and act_name != "linear":
                try:
                    activation = get_activation(act_name)
                except ValueError as exc:
                    raise ValueError(f"{where}: layer {i}: {exc}") from None
            layer_init = init or ("he" if isinstance(act_name, str) and act_name.lower() == "relu" else "xavier")
            model.add(Dense(entry["input_dim"], entry["output_dim"], init=layer_init, rng=gen))
            if activation is not None:
                model.add(activation)
        return model

    # -- shapes and parameters ---------------------------------------------------------
    @property
    def in_features(self) -> int | None:
        """Number of input features, from the first Dense layer (None if there is none)."""
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.in_features
        return None

    @property
    def out_features(self) -> int | None:
        """Width of the model's output (None if it has no Dense layer)."""
        width = None
        for layer in self.layers:
            if isinstance(layer, Dense):
                width = layer.out_features
        return width

    @property
    def n_params(self) -> int:
        """Total number of trainable numbers."""
        return sum(layer.n_params for layer in self.layers)

    @property
    def dtype(self) -> np.dtype:
        """Floating-point type of the parameters (float64 unless changed with :meth:`astype`)."""
        for p in self.parameters():
            return p.dtype
        return np.dtype(np.float64)

    def astype(self, dtype: Any) -> "Model":
        """Convert every parameter (and gradient buffer) to ``dtype``, e.g. ``np.float32``; returns the model.

        float32 halves memory traffic and is faster for larger layers; float64
        (the default) is what the gradient checks need.
        """
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"Model.astype: dtype must be float32 or float64, got {dtype}.")
        for layer in self.layers:
            for key in layer.params:
                layer.params[key] = layer.params[key].astype(dtype)
                layer.grads[key] = np.zeros_like(layer.params[key])
        return self

    def parameters(self) -> list[np.ndarray]:
        """Every parameter array, layer by layer (the arrays themselves, not copies)."""
        return [p for layer in self.layers for p in layer.params.values()]

    def gradients(self) -> list[np.ndarray]:
        """Every gradient array, in the same order as :meth:`parameters`."""
        return [layer.grads[k] for layer in self.layers for k in layer.params]

    def _flat_buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """All parameters in one contiguous array, and all gradients in another.

        Each layer's ``params[k]`` and ``grads[k]`` become views into these
        buffers (values unchanged), so an optimizer updates every parameter
        with a handful of whole-buffer operations instead of a few per array:
        at small layer sizes the per-call cost of NumPy, not arithmetic, is
        what limits speed. Repacked only if a layer's arrays were replaced.
        """
        current = self.parameters()
        if self._flat is not None and len(current) == len(self._flat[2]) and all(
            a is b for a, b in zip(current, self._flat[2])
        ):
            return self._flat[0], self._flat[1]
        total = sum(p.size for p in current)
        flat_p = np.empty(total, dtype=self.dtype)
        flat_g = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer in self.layers:
            for key, p in layer.params.items():
                view_p = flat_p[offset : offset + p.size].reshape(p.shape)
                view_g = flat_g[offset : offset + p.size].reshape(p.shape)
                view_p[...] = p
                view_g[...] = layer.grads[key]
                layer.params[key], layer.grads[key] = view_p, view_g
                offset += p.size
        self._flat = (flat_p, flat_g, self.parameters())
        return flat_p, flat_g

    def named_parameters(self) -> dict[str, np.ndarray]:
        """Parameters by readable name, such as ``"layer0.W"`` and ``"layer0.b"``."""
        return {f"layer{i}.{k}": p for i, layer in enumerate(self.layers) for k, p in layer.params.items()}

    def summary(self) -> str:
        """A table of the layers, their output shapes and parameter counts."""
        rows = []
        width: int | None = None
        for i, layer in enumerate(self.layers):
            width = layer.output_features(width) if width is not None or isinstance(layer, Dense) else None
            shape = f"(n, {width})" if width is not None else "(n, ?)"
            rows.append((str(i), repr(layer), shape, f"{layer.n_params:,}"))
        header = ("#", "layer", "output shape", "params")
        cols = list(zip(header, *rows)) if rows else [(h,) for h in header]
        w = [max(len(c) for c in col) for col in cols]
        fmt = lambda r: f"  {r[0]:>{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]:>{w[3]}}"  # noqa: E731
        lines = [f"Model: {len(self.layers)} layers, {self.n_params:,} trainable parameters", fmt(header)]
        lines += [fmt(r) for r in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    # -- computing ------------------------------------------------------------------------
    def _require_layers(self, where: str) -> None:
        if self.in_features is None:
            raise ValueError(f"{where}: the model has no Dense layer yet; add layers with model.add(Dense(...)).")

    def predict(self, X: Any) -> np.ndarray:
        """Forward pass: outputs of shape ``(n_samples, out_features)`` for ``X`` of shape ``(n_samples, in_features)``."""
        self._require_layers("Model.predict")
        X = check_2d(X, "X", "Model.predict", self.in_features).astype(self.dtype, copy=False)
        return self._forward(X)

    def predict_classes(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        """Class labels of shape ``(n_samples,)``: output > threshold for one output, argmax for several."""
        return to_classes(self.predict(X), threshold)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            X = layer._forward(X)
        return X

    def _check_data(self, X: Any, y: Any, loss: Loss, where: str) -> tuple[np.ndarray, np.ndarray]:
        self._require_layers(where)
        if isinstance(loss, BinaryCrossEntropy) and not isinstance(self.layers[-1], Sigmoid):
            raise ValueError(
                f"{where}: BinaryCrossEntropy needs probabilities in [0, 1], but the model's last layer is "
                f"{self.layers[-1]!r}, not Sigmoid(); end the model with Sigmoid() or use MSE()."
            )
        if isinstance(loss, SoftmaxCrossEntropy) and isinstance(self.layers[-1], Softmax):
            raise ValueError(
                f"{where}: the model ends with Softmax() but SoftmaxCrossEntropy expects logits "
                "(it applies the softmax itself); remove the final Softmax layer."
            )
        dtype = self.dtype
        X = check_2d(X, "X", where, self.in_features).astype(dtype, copy=False)
        y = loss._targets(y, (X.shape[0], self.out_features), where).astype(dtype, copy=False)
        return X, y

    def _fused(self, loss: Loss) -> bool:
        # Sigmoid followed by cross-entropy: use dL/dz = (y_hat - y)/N directly.
        return bool(self.layers) and isinstance(self.layers[-1], Sigmoid) and isinstance(loss, BinaryCrossEntropy)

    def _backprop(self, X: np.ndarray, y: np.ndarray, loss: Loss, fused: bool) -> tuple[float, np.ndarray]:
        y_hat = self._forward(X)
        if fused:
            value, grad, layers = loss._value(y, y_hat), loss.grad_wrt_logits(y, y_hat), self.layers[:-1]
        else:
            (value, grad), layers = loss._value_and_grad(y, y_hat), self.layers
        for i in range(len(layers) - 1, -1, -1):
            grad = layers[i]._backward(grad, need_input_grad=i > 0)
        return float(value), y_hat

    def compute_gradients(self, X: Any, y: Any, loss: Loss | str) -> float:
        """Backpropagation: one forward and one backward pass over ``(X, y)``.

        Fills every layer's ``grads`` and returns the loss; changes no parameter.
        """
        loss = get_loss(loss)
        X, y = self._check_data(X, y, loss, "Model.compute_gradients")
        return self._backprop(X, y, loss, self._fused(loss))[0]

    def evaluate(self, X: Any, y: Any, *, loss: Loss | str, metrics: Sequence[str] = ("accuracy",)) -> dict[str, float]:
        """Loss (and metrics) of the model on ``(X, y)``, without training."""
        loss = get_loss(loss)
        metrics = _check_metrics(metrics)
        X, y = self._check_data(X, y, loss, "Model.evaluate")
        y_hat = self._forward(X)
        result = {"loss": float(loss._value(y, y_hat))}
        for m in metrics:
            result[m] = METRICS[m](y, y_hat)
        return result

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        loss: Loss | str,
        optimizer: Optimizer,
        epochs: int,
        batch_size: int | None = None,
        rng: None | int | np.random.Generator = None,
        metrics: Sequence[str] = (),
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        loss_threshold: float | None = None,
        patience: int | None = None,
        verbose: int = 0,
        progress: bool | None = None,
    ) -> History:
        """Train with minibatch gradient descent.

        Each epoch visits every sample once, in batches of ``batch_size``
        (the whole set when None: full-batch gradient descent). For each batch:
        forward pass, loss, backward pass (:meth:`compute_gradients`), then
        ``optimizer.step``.

        Parameters
        ----------
        X : array of shape (n_samples, in_features)
        y : array of shape (n_samples, out_features), or (n_samples,) for one output
        loss : Loss or str
        optimizer : Optimizer, e.g. ``SGD(lr=0.1)``
        epochs : int
        batch_size : int, optional
        rng : None, int or Generator
            Drives the shuffling of minibatches: the same seed, the same run.
        metrics : sequence of str
            ``("accuracy",)`` to record accuracy as well.
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch into ``val_loss`` (and ``val_*`` metrics).
        shuffle : bool, default True
            Reshuffle the samples every epoch (only matters with minibatches).
        loss_threshold : float, optional
            Stop as soon as an epoch's training loss falls below this.
        patience : int, optional
            Early stopping on the validation loss (needs ``validation_data``):
            stop once it has not improved for ``patience`` epochs in a row, and
            put back the parameters of the best epoch (``history.best_epoch``).
        verbose : int, default 0
            Print a line every ``verbose`` epochs (0: silent).
        progress : bool, optional
            Show a one-line progress bar on standard error. By default it is
            shown only when standard error is an interactive terminal (and
            ``verbose`` is off), so it never appears in notebooks, tests or logs.

        Returns
        -------
        History
            ``history.history["loss"]`` holds each epoch's training loss: the
            mean over its batches of the loss computed just before each update.
        """
        where = "Model.fit"
        loss = get_loss(loss)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: optimizer must be an nnlib optimizer such as SGD(lr=0.1), got {type(optimizer).__name__}.")
        epochs = check_positive_int(epochs, "epochs", where)
        metrics = _check_metrics(metrics)
        X, y = self._check_data(X, y, loss, where)
        n = X.shape[0]
        batch_size = n if batch_size is None else min(check_positive_int(batch_size, "batch_size", where), n)
        verbose = int(verbose)
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise TypeError(f"{where}: validation_data must be a pair (X_val, y_val).")
            X_val, y_val = self._check_data(*validation_data, loss, where + " (validation_data)")
        if patience is not None:
            patience = check_positive_int(patience, "patience", where)
            if validation_data is None:
                raise ValueError(f"{where}: patience watches the validation loss; pass validation_data=(X_val, y_val) too.")
        if loss_threshold is not None and not (isinstance(loss_threshold, (int, float)) and loss_threshold > 0):
            raise ValueError(f"{where}: loss_threshold must be a positive number, got {loss_threshold!r}.")
        gen = as_generator(rng, where)
        flat_p, flat_g = self._flat_buffers()
        params, grads = [flat_p], [flat_g]
        best_val, best_params, waited = np.inf, None, 0
        fused = self._fused(loss)
        want_acc = "accuracy" in metrics
        labels = to_classes(y) if want_acc else None  # the true classes, found once, not per batch
        history = History()
        # The bar and verbose lines would interleave: by default, one or the other.
        show_bar = ProgressBar.wanted(progress) if progress is not None or not verbose else False
        bar = ProgressBar(epochs) if show_bar else None
        for epoch in range(1, epochs + 1):
            # Each batch gathers its own rows of a fresh permutation: gathering the
            # whole shuffled set first would write a copy of the data each epoch and
            # push the model's arrays out of the cache.
            order = gen.permutation(n) if shuffle and batch_size < n else None
            total, correct = 0.0, 0
            for start in range(0, n, batch_size):
                if order is None:
                    rows = slice(start, start + batch_size)
                    xb, yb = X[rows], y[rows]
                else:
                    rows = order[start : start + batch_size]
                    xb, yb = X.take(rows, axis=0), y.take(rows, axis=0)
                value, y_hat = self._backprop(xb, yb, loss, fused)
                optimizer._step(params, grads)
                total += value * xb.shape[0]
                if want_acc:
                    correct += int(np.count_nonzero(to_classes(y_hat) == labels[rows]))
            record = {"loss": total / n}
            if want_acc:
                record["accuracy"] = correct / n
            if validation_data is not None:
                y_val_hat = self._forward(X_val)
                record["val_loss"] = float(loss._value(y_val, y_val_hat))
                if want_acc:
                    record["val_accuracy"] = accuracy(y_val, y_val_hat)
            history._record(epoch, record)
            if bar is not None:
                bar.update(epoch, record)
            if verbose and (epoch % verbose == 0 or epoch == 1 or epoch == epochs):
                print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in record.items()))
            if loss_threshold is not None and record["loss"] < loss_threshold:
                history.stop_reason = f"loss {record['loss']:.3g} < {loss_threshold:g} at epoch {epoch}"
            if patience is not None:
                if record["val_loss"] < best_val:
                    best_val, waited, history.best_epoch = record["val_loss"], 0, epoch
                    best_params = [p.copy() for p in params]
                else:
                    waited += 1
                    if waited >= patience:
                        history.stop_reason = (
                            f"val_loss has not improved for {patience} epochs; "
                            f"restored epoch {history.best_epoch}"
                        )
            if history.stop_reason is not None:
                if verbose:
                    print(f"stopped: {history.stop_reason}")
                break
        if bar is not None:
            bar.close()
        if best_params is not None and history.best_epoch != history.epoch[-1]:
            for p, best in zip(params, best_params):
                p[...] = best
        return history

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> "os.PathLike":
        """Save architecture and parameters to one ``.npz`` file (atomically). See :mod:`nnlib.persistence`."""
        from .persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Model":
        """Rebuild a model saved with :meth:`save`. See :mod:`nnlib.persistence`."""
        from .persistence import load_model

        return load_model(path)


def _check_metrics(metrics: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    for m in metrics:
        if m not in METRICS:
            valid = ", ".join(repr(k) for k in METRICS)
            raise ValueError(f"Unknown metric {m!r}; choose from {valid}.")
    return tuple(metrics)
