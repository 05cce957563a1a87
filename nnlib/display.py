"""Show nnlib's own source code in a notebook, so the book never carries a copy that can drift."""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any


def show_source(obj: Any) -> Any:
    """Return the source of a function, method or class, highlighted in Jupyter.

    In a notebook the result displays as highlighted Python; elsewhere it is
    plain text. Because the text is read from the installed nnlib at run
    time, a chapter that shows it is always showing the code that runs.
    The result also carries the code as a Markdown code block, which the
    book's PDF prints (see _config.yml).
    """
    text = textwrap.dedent(inspect.getsource(obj))
    try:
        from IPython.display import Code
    except ImportError:  # pragma: no cover - IPython is there whenever a notebook runs
        return text

    class Source(Code):
        def _repr_markdown_(self) -> str:
            # A fence longer than any run of backticks in the code.
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", self.data)), default=0))
            return f"{fence}python\n{self.data.rstrip()}\n{fence}\n"

    return Source(text, language="python")
