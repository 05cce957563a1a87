"""The book's PDF (make pdf): numbering and headings as in the HTML book.

* Exercises are numbered by chapter ("Exercise 2.4"), as in the HTML book and
  the prose that cites them. sphinx-jupyterbook-latex, for a book with parts,
  sets ``numfig_secnum_depth`` to 2, which numbers them by section
  ("Exercise 2.6.4"); LaTeX needs that 2 to number figures by chapter
  ("Fig. 2.1"). So the setting is 1 while Sphinx assigns the numbers
  (builder-inited, after that extension) and 2 again before the LaTeX writer
  starts (env-check-consistency, which Sphinx emits after reading documents:
  tools/build_pdf.py always builds from scratch).
* The introduction's headings ("Who this book is for", ...) become unnumbered
  sections with a bookmark and a line in the contents, instead of the bold
  lines sphinx-jupyterbook-latex prints, which no bookmark leads to and which
  can be left alone at the foot of a page.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders.latex import LaTeXBuilder
from sphinx.environment import BuildEnvironment



def _number_by_chapter(app: Sphinx) -> None:
    if not isinstance(app.builder, LaTeXBuilder):
        return
    app.config.numfig_secnum_depth = 1
    try:
        from sphinx_jupyterbook_latex.nodes import RootHeader
    except ImportError:  # pragma: no cover - jupyter-book always brings it
        return
    app.add_node(RootHeader, override=True, latex=(_visit_root_header, None))


def _figures_by_chapter(app: Sphinx, env: BuildEnvironment) -> None:
    if isinstance(app.builder, LaTeXBuilder) and app.config.latex_toplevel_sectioning == "part":
        app.config.numfig_secnum_depth = 2


def _visit_root_header(self, node) -> None:
    # The introduction is an unnumbered chapter (book_ext/latex/nnlibbook.sty)
    # whose headings are all "##": sections.
    title = self.encode(node.astext())
    self.body.append(f"\n\\section*{{{title}}}\\phantomsection\\addcontentsline{{toc}}{{section}}{{{title}}}\n")
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _number_by_chapter, priority=900)
    app.connect("env-check-consistency", _figures_by_chapter)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
