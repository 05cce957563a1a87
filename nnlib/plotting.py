"""Plotting helpers used throughout the book (matplotlib, imported on first use)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5, 4))[1]


#: Markers of the classes in plot_decision_boundary, in order of the class labels.
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
#: Line styles of the curves in plot_history, in the order of the keys.
LINE_STYLES = ("-", "--", "-.", ":")


def _class_colours(cmap: str, n: int) -> list:
    """``n`` colours spread over ``cmap`` (its two ends for two classes)."""
    import matplotlib

    colormap = matplotlib.colormaps[cmap]
    return [colormap(t) for t in (np.linspace(0.0, 1.0, n) if n > 1 else [0.0])]


def _label_text(label: Any) -> str:
    """A class label as the legend names it: 1.0 as 1."""
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return str(int(label))
    return str(label)


def plot_decision_boundary(model: Any, X: Any, y: Any, *, ax: Any = None, resolution: int = 200,
                           margin: float = 0.5, cmap: str = "RdBu", title: str | None = None,
                           point_size: float = 20) -> Any:
    """Shade the model's predicted probability over the plane and scatter ``(X, y)`` on it.

    Parameters
    ----------
    model : object with ``predict(X)``
        Returning one probability per row (shape ``(n, 1)``), or class scores
        ``(n, k)`` (the arg-max is shaded).
    X : array of shape (n_samples, 2)
    y : array of shape (n_samples,)
        Class labels: each class is drawn with its own colour and marker
        (circles, squares, triangles, ...), named in a legend.
    point_size : float, default 20
        Area of each point's marker (matplotlib's ``s``): larger for a few points.

    Returns
    -------
    matplotlib.axes.Axes
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (n_samples, 2), got {X.shape}.")
    ax = _axes(ax)
    x0 = np.linspace(X[:, 0].min() - margin, X[:, 0].max() + margin, resolution)
    x1 = np.linspace(X[:, 1].min() - margin, X[:, 1].max() + margin, resolution)
    g0, g1 = np.meshgrid(x0, x1)
    out = np.asarray(model.predict(np.column_stack([g0.ravel(), g1.ravel()])))
    if out.ndim == 2 and out.shape[1] > 1:
        z = np.argmax(out, axis=1).reshape(g0.shape)
        ax.contourf(g0, g1, z, alpha=0.35, cmap=cmap)
    else:
        z = out.reshape(g0.shape)
        ax.contourf(g0, g1, z, levels=np.linspace(0, 1, 11), alpha=0.5, cmap=cmap)
        ax.contour(g0, g1, z, levels=[0.5], colors="k", linewidths=1.5)
    # Each class gets its own marker as well as its own colour, so that the classes can be
    # told apart in greyscale and by readers who do not see the colours.
    classes = np.unique(y)
    colours = _class_colours(cmap, len(classes))
    for k, (label, colour) in enumerate(zip(classes, colours)):
        mine = y == label
        ax.scatter(X[mine, 0], X[mine, 1], color=colour, marker=CLASS_MARKERS[k % len(CLASS_MARKERS)],
                   edgecolors="k", s=point_size, linewidths=0.5, label=f"class {_label_text(label)}", zorder=3)
    if len(classes) > 1:
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_history(history: Any, keys: Sequence[str] | None = None, *, ax: Any = None,
                 logy: bool = False, title: str | None = None) -> Any:
    """Plot training curves from a :class:`nnlib.History` (or its ``.history`` dict).

    Each curve has its own colour and line style (solid, dashed, dash-dotted, dotted).

    Returns
    -------
    matplotlib.axes.Axes
    """
    hist = history.history if hasattr(history, "history") else dict(history)
    keys = list(keys) if keys is not None else list(hist)
    unknown = [k for k in keys if k not in hist]
    if unknown:
        raise ValueError(f"plot_history: no curve named {unknown}; available: {list(hist)}.")
    ax = _axes(ax)
    for k, key in enumerate(keys):
        values = hist[key]
        # a line style per curve as well as a colour: the curves read in greyscale too
        ax.plot(np.arange(1, len(values) + 1), values, label=key, ls=LINE_STYLES[k % len(LINE_STYLES)])
    ax.set_xlabel("epoch")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax
