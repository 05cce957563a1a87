"""Re-execute notebooks in place from a fresh kernel and store their outputs.

    python tools/run_notebooks.py chapters/*.ipynb

Each notebook runs in its own folder, top to bottom, in a new kernel. Cells
tagged ``raises-exception`` may raise; any other error stops with a message.
Timing metadata is removed, so re-running an unchanged notebook gives an
unchanged file, and cells the book folds (hide-input, hide-output, hide-cell)
are folded in Jupyter too. Before it runs, each notebook gets the setup cell that
_config.yml's repository setting asks for (book_ext/repository_setting.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

if not __package__:  # run as `python tools/run_notebooks.py`: the repository's folders are packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from book_ext import repository_setting  # noqa: E402

# Same setting as the Makefile: one BLAS thread (fast at these sizes, reproducible).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def merge_streams(outputs: list) -> list:
    """Join consecutive pieces of the same stream: how a print is split depends on timing."""
    merged: list = []
    for output in outputs:
        prev = merged[-1] if merged else None
        if (output.output_type == "stream" and prev is not None and prev.output_type == "stream"
                and prev.name == output.name):
            prev.text += output.text
        else:
            merged.append(output)
    return merged


# The book folds a cell's code or output by tag (myst-nb); Jupyter folds it by the cell's
# "jupyter" metadata. Both are kept in step, so a notebook opened in JupyterLab shows what
# the book shows, with the plotting code folded away.
FOLDED_BY_TAG = {"hide-input": ("source_hidden",), "hide-output": ("outputs_hidden",),
                 "hide-cell": ("source_hidden", "outputs_hidden")}


def fold_like_the_book(cell: nbformat.NotebookNode) -> None:
    """Set ``cell.metadata.jupyter``'s source_hidden / outputs_hidden from the cell's hide-* tags."""
    wanted = {key for tag in cell.metadata.get("tags", []) for key in FOLDED_BY_TAG.get(tag, ())}
    jupyter = dict(cell.metadata.get("jupyter", {}))
    for key in ("source_hidden", "outputs_hidden"):
        if key in wanted:
            jupyter[key] = True
        else:
            jupyter.pop(key, None)
    if jupyter:
        cell.metadata["jupyter"] = jupyter
    else:
        cell.metadata.pop("jupyter", None)


def clean(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        fold_like_the_book(cell)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
            cell.outputs = merge_streams(cell.outputs)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.get("language_info", {}).pop("version", None)


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    if repository_setting.sync_setup_cell(nb, repository_setting.read()):
        print(f"         {path}: setup cell written for the repository in _config.yml")
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    clean(nb)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    total = 0.0
    for p in paths:
        seconds = run(Path(p))
        total += seconds
        print(f"{seconds:6.1f} s  {p}")
    print(f"{total:6.1f} s  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
