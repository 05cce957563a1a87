"""book_ext/accessibility.py: the markup it changes is the packages' own but for the attributes it fixes.

It draws myst-nb's hidden-cell summary and overrides two templates of
pydata-sphinx-theme and three of sphinx-book-theme (their labels made translatable); were either package to change that markup, the book's
copies would go stale unnoticed. These tests compare them with the installed
packages' (the browser test, tests/test_browser.py, runs axe-core on the result).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from book_ext import accessibility

_JINJA_COMMENT = re.compile(r"\{#.*?#\}\n?", re.S)


def _theme_template(name: str, theme: str = "pydata_sphinx_theme") -> str:
    package = __import__(theme)
    return (Path(package.__file__).parent / "theme" / theme / "components" / name).read_text(encoding="utf-8")


def _markup(text: str) -> str:
    return _JINJA_COMMENT.sub("", text)


@pytest.mark.parametrize("name, change", [
    ("search-button-field.html", lambda t: t.replace(" aria-label=\"{{ _('Search') }}\"", "", 1)),
    ("theme-switcher.html", lambda t: re.sub(r'(fa-lg")( data-mode="\w+") *title="[^"]*"', r'\1 aria-hidden="true"\2', t)),
])
def test_the_template_is_the_themes_but_for_the_fix(name, change):
    theme = _markup(_theme_template(name))
    ours = _markup((accessibility.TEMPLATES / name).read_text(encoding="utf-8"))
    fixed = change(theme)
    assert fixed != theme, f"the theme's {name} no longer has what book_ext/templates/{name} fixes"
    assert ours == fixed, (f"book_ext/templates/{name} is not the installed theme's template with the fix: "
                           "copy the theme's again and redo the change")


def _translatable(text: str) -> str:
    return f"\"{{{{ _('{text}') }}}}\""


# sphinx-book-theme writes these three labels as plain English; the copies pass them through the
# translation function, so that the Chinese edition (book_ext/i18n.py) says them in Chinese.
@pytest.mark.parametrize("name, label", [
    ("toggle-primary-sidebar.html", "Toggle primary sidebar"),
    ("toggle-secondary-sidebar.html", "Toggle secondary sidebar"),
    ("sbt-sidebar-nav.html", "Main"),
])
def test_the_book_themes_labels_are_translatable_and_nothing_else_changed(name, label):
    theme = _theme_template(name, "sphinx_book_theme")
    ours = (accessibility.TEMPLATES / name).read_text(encoding="utf-8")
    assert f'"{label}"' in theme, f"the theme's {name} no longer has the label {label!r}"
    assert ours == theme.replace(f'"{label}"', _translatable(label), 1), (
        f"book_ext/templates/{name} is not the installed theme's template with its label translatable: "
        "copy the theme's again and redo the change")


def test_the_hidden_cell_summary_is_myst_nbs_but_named_by_its_text():
    from myst_nb import sphinx_

    node = {"classes": ["above-input"], "prompt_show": "Show code cell source", "prompt_hide": "Hide <code>"}
    theirs, ours = SimpleNamespace(body=[]), SimpleNamespace(body=[])
    sphinx_.visit_HideCellInput(theirs, node)
    sphinx_.depart_HideCellInput(theirs, node)
    accessibility.visit_hide_cell_input(ours, node)
    accessibility.depart_hide_cell_input(ours, node)
    theirs_html, ours_html = "".join(theirs.body), "".join(ours.body)
    assert ' aria-label="Toggle hidden content"' in theirs_html
    assert ours_html == theirs_html.replace(' aria-label="Toggle hidden content"', "")
