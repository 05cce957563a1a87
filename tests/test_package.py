"""The package itself: version, importability, public names, metrics, show_source, plotting."""

import re
import subprocess
import sys

import numpy as np
import pytest

import nnlib
from nnlib import Dense, Model, ReLU, Sigmoid, accuracy, confusion_matrix, show_source, to_classes


def test_version_is_a_version_string():
    assert isinstance(nnlib.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+", nnlib.__version__)


def test_import_works_from_any_directory(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import nnlib; print(nnlib.__version__)"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == nnlib.__version__


def test_every_public_name_is_importable():
    missing = [name for name in nnlib.__all__ if not hasattr(nnlib, name)]
    assert missing == []
    for name in ("Dense", "Sigmoid", "ReLU", "Tanh", "MSE", "BinaryCrossEntropy", "SGD", "Adam", "Model",
                 "gradient_check", "ModelFileError", "plot_decision_boundary", "plot_history", "show_source"):
        assert name in nnlib.__all__


# -- metrics ----------------------------------------------------------------------------------------
def test_to_classes_for_one_and_several_outputs():
    np.testing.assert_array_equal(to_classes([[0.2], [0.5], [0.51]]), [0, 0, 1])
    np.testing.assert_array_equal(to_classes([0.2, 0.9], threshold=0.95), [0, 0])
    np.testing.assert_array_equal(to_classes([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]]), [1, 0])


def test_accuracy_with_label_shapes_and_one_hot():
    assert accuracy([0, 1, 1], [[0.2], [0.7], [0.4]]) == pytest.approx(2 / 3)
    assert accuracy([[0], [1], [1]], [[0.2], [0.7], [0.4]]) == pytest.approx(2 / 3)
    assert accuracy([[1, 0], [0, 1]], [[0.9, 0.1], [0.8, 0.2]]) == 0.5
    assert type(accuracy([1], [[0.9]])) is float


def test_confusion_matrix_counts_repeated_pairs_and_absent_classes():
    C = confusion_matrix(np.array([0, 0, 1, 2, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2, 2]), 4)
    np.testing.assert_array_equal(C, [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 3, 0], [0, 0, 0, 0]])
    assert C.dtype == np.int64 and C.sum() == 7
    # whole-number floats and lists are labels too; no samples give a matrix of zeros
    np.testing.assert_array_equal(confusion_matrix([1.0, 0.0], [1, 1], 2), [[0, 1], [0, 1]])
    np.testing.assert_array_equal(confusion_matrix([], [], 3), np.zeros((3, 3)))


def test_confusion_matrix_agrees_with_a_loop():
    g = np.random.default_rng(0)
    t, p = g.integers(0, 5, 300), g.integers(0, 5, 300)
    expected = np.zeros((5, 5), dtype=int)
    for i, j in zip(t, p):
        expected[i, j] += 1
    np.testing.assert_array_equal(confusion_matrix(t, p, 5), expected)


@pytest.mark.parametrize("y_true, y_pred, n_classes, error, message", [
    ([0, 3], [0, 1], 3, ValueError, r"y_true must lie in 0\.\.2 for n_classes=3, found values from 0 to 3"),
    ([0, 1], [-1, 1], 2, ValueError, r"y_pred must lie in 0\.\.1"),
    ([0, 1, 1], [0, 1], 2, ValueError, "y_true has 3 labels but y_pred has 2"),
    ([[0.2, 0.8]], [1], 2, ValueError, r"1-D array of class labels, got shape \(1, 2\).*argmax"),
    ([0.5, 1], [0, 1], 2, ValueError, "whole numbers"),
    ([0, np.nan], [0, 1], 2, ValueError, "whole numbers"),
    (["a", "b"], [0, 1], 2, TypeError, "dtype <U1"),
    ([True, False], [0, 1], 2, TypeError, "dtype bool"),
    ([0, 1], [0, 1], 0, ValueError, "n_classes must be a positive integer"),
    ([0, 1], [0, 1], 2.0, TypeError, "n_classes must be a positive integer"),
])
def test_confusion_matrix_refuses_what_is_not_labels(y_true, y_pred, n_classes, error, message):
    with pytest.raises(error, match=message):
        confusion_matrix(y_true, y_pred, n_classes)


# -- show_source ---------------------------------------------------------------------------------------
def source_text(obj):
    shown = show_source(obj)
    return shown if isinstance(shown, str) else shown.data


def test_show_source_shows_the_code_that_runs():
    text = source_text(nnlib.sigmoid)
    assert text.startswith("def sigmoid(") and "np.exp(-np.abs(z))" in text


def test_show_source_dedents_methods():
    text = source_text(Dense.forward)
    assert text.startswith("def forward(self, x")
    assert "return self._forward(x)" in text


# -- plotting -------------------------------------------------------------------------------------------
@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield plt
    plt.close("all")


def test_plot_decision_boundary_returns_the_axes(plt):
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    model = Model([Dense(2, 3, rng=0), ReLU(), Dense(3, 1, rng=1), Sigmoid()])
    ax = nnlib.plot_decision_boundary(model, X, [0, 1, 1, 0], resolution=20, title="XOR")
    assert ax.get_title() == "XOR" and ax.get_xlabel() == "$x_1$"
    _, ax2 = plt.subplots()
    assert nnlib.plot_decision_boundary(model, X, [0, 1, 1, 0], ax=ax2, resolution=10) is ax2
    with pytest.raises(ValueError, match=r"plot_decision_boundary: X must have shape \(n_samples, 2\), got \(4, 3\)"):
        nnlib.plot_decision_boundary(model, np.ones((4, 3)), [0, 1, 1, 0])


def test_plots_tell_classes_and_curves_apart_without_colour(plt):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    model = Model([Dense(2, 1, rng=0), Sigmoid()])
    ax = nnlib.plot_decision_boundary(model, X, [0, 1, 1, 0], resolution=10)
    markers = [collection.get_paths()[0].vertices.tobytes() for collection in ax.collections[-2:]]
    assert markers[0] != markers[1]                               # circles and squares
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    ax = nnlib.plot_decision_boundary(model, X, np.array([0.0, 1.0, 1.0, 0.0]), resolution=10)   # float labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    styles = [line.get_linestyle() for line in nnlib.plot_history(history).get_lines()]
    assert styles == ["-", "--"]


def test_plot_history_draws_one_line_per_curve(plt):
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.5]}
    ax = nnlib.plot_history(history, logy=True)
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "val_loss"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log"
    assert len(nnlib.plot_history(history, keys=["loss"]).get_lines()) == 1
    with pytest.raises(ValueError, match=r"plot_history: no curve named \['accuracy'\]; "
                                         r"available: \['loss', 'val_loss'\]"):
        nnlib.plot_history(history, keys=["accuracy"])


def test_persistence_does_not_know_model():
    """persistence reads and writes layers; only Model.save/Model.load know Model (no import cycle)."""
    import ast
    import inspect

    import nnlib.persistence

    tree = ast.parse(inspect.getsource(nnlib.persistence))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.lstrip(".").split(".")[-1] == "model"}
    assert "Model" not in {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
