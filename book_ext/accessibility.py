"""Markup of the book's theme and of myst-nb, made to pass WCAG 2 (A and AA).

tests/test_browser.py runs axe-core on every page of the built book. Three
controls that the book's packages draw had an accessible name (what a screen
reader speaks, what speech input listens for) that does not contain the text
they show, against WCAG 2.5.3 "Label in Name" (axe: label-content-name-mismatch):

* the "Show code cell source" line above every hidden code cell (myst-nb), a
  ``<summary>`` named "Toggle hidden content": this extension draws it without
  that name, so it is named by the words it shows;
* the search button (pydata-sphinx-theme), named "Search" while it shows
  "Search Ctrl+K": templates/search-button-field.html drops the ``aria-label``,
  so its name is what it shows;
* the colour mode button (pydata-sphinx-theme), named "Color mode", whose icons
  carry titles ("Light", "Dark", "System Settings") that count as its text:
  templates/theme-switcher.html draws the icons without titles, ``aria-hidden``,
  as decorative icons are (the button's tooltip still says "Color mode").

The two templates are the theme's own (pydata-sphinx-theme 0.17), with only
those attributes changed; this extension puts their folder ahead of the theme's
in ``templates_path``. The same folder holds three of sphinx-book-theme's
templates whose labels ("Toggle primary sidebar", "Toggle secondary sidebar",
"Main") the theme writes in English only: the copies pass them through the
translation function, for the Chinese edition (book_ext/i18n.py). tests/test_accessibility_ext.py checks that the copies and
the summary differ from the installed packages' markup by those fixes only. The colours that needed more contrast are in
book_static/accessibility.css.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


def visit_hide_cell_input(self, node) -> None:
    """myst-nb's ``<details>`` around a hidden cell input, its ``<summary>`` named by its text."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append("<summary>\n")
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_hide_cell_input(self, node) -> None:
    self.body.append("</details>\n")


def _templates_first(app, config) -> None:
    config.templates_path.insert(0, str(TEMPLATES))


def setup(app):
    from myst_nb.sphinx_ import HideCodeCellNode

    app.setup_extension("myst_nb")
    app.add_node(HideCodeCellNode, override=True, html=(visit_hide_cell_input, depart_hide_cell_input))
    app.connect("config-inited", _templates_first)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
