"""The chapters as files: what Jupyter shows matches what the book shows."""

from __future__ import annotations

import copy

import nbformat
import pytest

from helpers import ROOT
from tools.run_notebooks import FOLDED_BY_TAG, fold_like_the_book

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_cells_the_book_folds_are_folded_in_jupyter(path):
    """A hide-input cell (plotting code, say) is folded in JupyterLab too, and nothing else is."""
    nb = nbformat.read(path, as_version=4)
    folded = 0
    for index, cell in enumerate(nb.cells, start=1):
        expected = copy.deepcopy(cell)
        fold_like_the_book(expected)
        assert cell.metadata == expected.metadata, f"{path.name}, cell {index}: run `make notebooks`"
        folded += bool(set(cell.metadata.get("tags", [])) & set(FOLDED_BY_TAG))
    assert folded, f"{path.name} folds nothing"


def test_folding_follows_the_tags():
    cell = nbformat.v4.new_code_cell("plot()", metadata={"tags": ["hide-cell"], "jupyter": {"outputs_hidden": False}})
    fold_like_the_book(cell)
    assert cell.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    cell.metadata["tags"] = ["check"]
    fold_like_the_book(cell)
    assert "jupyter" not in cell.metadata
