"""Show nnlib's own source code in a notebook, so the book never carries a copy that can drift."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any


def show_source(obj: Any) -> Any:
    """Return the source of a function, method or class, highlighted in Jupyter.

    In a notebook the result displays as highlighted Python; elsewhere it is
    plain text. Because the text is read from the installed nnlib at run
    time, a chapter that shows it is always showing the code that runs.
    """
    text = textwrap.dedent(inspect.getsource(obj))
    try:
        from IPython.display import Code
    except ImportError:  # pragma: no cover - IPython is there whenever a notebook runs
        return text
    return Code(text, language="python")
