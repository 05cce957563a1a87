"""Where a submitted notebook holds each exercise: read from the file, never run.

The class checker reads the notebook's JSON itself (bounded in size) to say
*where* things happened in terms the student can find: which exercises the
notebook contains (a check cell calls its checker, or a cell defines one of
its answer functions), the cell that defines each answer, the cell that
checks it, and a cell whose code does not even parse. Cells are numbered
from the top, markdown included, as a student counts them in Jupyter.
Nothing here decides a grade; it explains one.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from .registry import EXERCISES

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


class UnreadableNotebook(ValueError):
    """The file is not a notebook this checker can read."""


@dataclass
class Place:
    """Where one exercise is in a notebook (cell numbers from 1; None: not there)."""

    answer_cell: int | None = None        # the (last) cell that defines one of its answers
    check_cell: int | None = None         # the cell that calls its checker
    syntax_error: str | None = None       # "cell 45: SyntaxError: ..." when the answer's cell does not parse


@dataclass
class NotebookMap:
    places: dict[str, Place] = field(default_factory=dict)   # label -> Place, for the exercises it contains

    def contains(self, label: str) -> bool:
        return label in self.places


def _defined_and_called(source: str) -> tuple[set[str], set[str]]:
    tree = ast.parse(source)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined |= {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return defined, called


def read(path: Path) -> NotebookMap:
    """The exercises of the notebook at ``path`` and where they are; UnreadableNotebook if it is not one."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise UnreadableNotebook(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
        nb = json.loads(path.read_bytes())
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except UnreadableNotebook:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableNotebook(f"not a notebook ({type(exc).__name__})") from None
    checker_of = {entry.check.__name__: label for label, entry in EXERCISES.items()}
    answer_of = {name: label for label, entry in EXERCISES.items() for name in entry.answers}
    found = NotebookMap()
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        # IPython's magics and shell lines are not Python: blank them before parsing.
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            defined, called = _defined_and_called(source)
        except SyntaxError as exc:
            # Which exercise did it mean to answer? A name of an answer written in it.
            for name, label in answer_of.items():
                if f"def {name}(" in source or f"{name} =" in source:
                    place = found.places.setdefault(label, Place())
                    place.answer_cell = number
                    place.syntax_error = f"cell {number}: SyntaxError: {exc.msg} (line {exc.lineno})"
            continue
        for name in defined & set(answer_of):
            place = found.places.setdefault(answer_of[name], Place())
            place.answer_cell = number
            place.syntax_error = None
        for name in called & set(checker_of):
            found.places.setdefault(checker_of[name], Place()).check_cell = number
    return found
