"""The book in two languages: the English edition and its Chinese translation.

The Chinese edition (``language: zh_CN``, built by ``tools/i18n.py build``)
is the same notebooks and pages read through the message catalogs under
``locale/zh_CN/LC_MESSAGES/``. For both editions this extension

* keeps display formulas and glossary terms out of the messages: a formula
  reads the same in both languages, and as a message it would only be copied
  by hand and could drift (inline maths stays inside its paragraph's message,
  where ``tools/i18n.py check`` makes sure the translation keeps it exactly);
  the Chinese glossary shows each entry's terms with the Chinese first;
* gives every HTML page a language switch: a link to the same page in the
  other edition (the English at the root of the build, the Chinese under
  ``zh/``), marked with the other language (``hreflang``, ``lang``).

and for the Chinese edition it

* translates what Sphinx's Locale transform cannot reach: the part captions
  of the table of contents (inserted after it ran) and the alt texts of the
  notebooks' figures (chosen when a page is written);
* drops the reference each translated node keeps to the one-message document
  it was parsed in (it pickled the whole build environment into every page);
* segments the search index with jieba (Sphinx's ``zh`` search language), with
  the glossary's Chinese terms in jieba's dictionary, so that a search for
  反向传播 finds the chapters that use it, and makes Sphinx's zh indexer keep
  its Latin words in a set (a list made indexing quadratic).
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "chapters" / "glossary.md"
CJK = re.compile(r"[\u4e00-\u9fff]")

# The other edition, as seen from this one: (folder relative to this build's root, its
# language tag, the link's text in that language).
OTHER_EDITION = {
    "en": ("zh/", "zh-CN", "中文"),
    "zh_CN": ("../", "en", "English"),
}


def _chinese(config) -> bool:
    """Is this build the Chinese edition?"""
    return str(config.language).startswith("zh")


class NotMessages(SphinxTransform):
    """Display formulas and glossary terms are not messages; the Chinese glossary puts 中文 first.

    Runs before Sphinx's Locale transform (priority 20). A glossary entry
    already names its term in both languages (``neuron`` / ``神经元``): the
    Chinese edition shows the same terms with the Chinese first, so the terms
    keep their targets in both editions and nobody translates them twice.
    """

    default_priority = 10

    def apply(self, **kwargs) -> None:
        for node in self.document.findall(nodes.math_block):
            node["translatable"] = False
        chinese_first = _chinese(self.config)
        for glossary in self.document.findall(addnodes.glossary):
            for item in glossary.findall(nodes.definition_list_item):
                terms = [child for child in item.children if isinstance(child, nodes.term)]
                for term in terms:
                    term["translatable"] = False
                if chinese_first:
                    ordered = sorted(terms, key=lambda t: not CJK.search(t.astext()))
                    others = [child for child in item.children if not isinstance(child, nodes.term)]
                    item.children = []
                    item.extend(ordered + others)


def _page_catalog(transform: SphinxTransform):
    """The current page's Chinese message catalog, or None (in the English edition, or if it has none)."""
    if not _chinese(transform.config):
        return None
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    domain = docname_to_domain(transform.env.docname, transform.config.gettext_compact)
    dirs = [str(Path(transform.env.srcdir) / d) for d in transform.config.locale_dirs]
    catalog, found = init_locale(dirs, transform.config.language, domain)
    return catalog if found else None


class TranslateAltTexts(SphinxPostTransform):
    """Translate the alt texts of the notebooks' figures in the Chinese edition.

    A notebook's image is chosen from its output's formats (myst-nb's post-transform,
    priority 4) when a page is written, after Sphinx's Locale transform translated
    the page; its alt text, from the cell's metadata, is translated here. (The
    gettext builder takes the PNG too, so that the alt texts are messages.)
    """

    default_priority = 5

    def run(self, **kwargs) -> None:
        catalog = _page_catalog(self)
        if catalog is None:
            return
        for image in self.document.findall(nodes.image):
            alt = image.get("alt")
            if alt and (translated := catalog.gettext(alt)) != alt:
                image["alt"] = translated


class TranslatePartCaptions(SphinxTransform):
    """Translate the part captions of the table of contents (_toc.yml) in the Chinese edition.

    sphinx-external-toc inserts the book's toctrees (priority 100) after Sphinx's
    Locale transform (20) has translated the page, so their captions, which the
    gettext builder does extract into the root page's catalog, would stay English.
    """

    default_priority = 101

    def apply(self, **kwargs) -> None:
        catalog = _page_catalog(self)
        if catalog is None:
            return
        for toctree in self.document.findall(addnodes.toctree):
            if "rawcaption" not in toctree:
                toctree.preserve_original_messages()
            for message in toctree.extract_original_messages():
                translated = catalog.gettext(message)
                if translated and translated != message:
                    toctree.apply_translated_message(message, translated)


def _forget_message_documents(app, doctree) -> None:
    """Translated nodes point back at the one-message document each was parsed in.

    Sphinx's Locale transform parses every translation as a small document of its
    own, and the nodes it moves into the page keep a reference to it, whose
    settings hold the whole build environment. Pickled with the page, that made
    every Chinese doctree hold the environment read so far (chapter 7's grew to
    1.9 MB, against 0.14 MB in English) and the Chinese build four times slower.
    A node without its own document asks its parent, so the reference is dropped.
    """
    for node in doctree.findall():
        if getattr(node, "_document", None) not in (None, doctree):
            node._document = None


class _TermSet(set):
    """A set with ``extend``: Sphinx's zh search keeps its Latin words in a list, searched once
    per word of the book (quadratic: 38 s of a 2-minute build); a set answers in constant time."""

    def extend(self, words) -> None:
        self.update(words)


def _fast_chinese_search(app) -> None:
    if not _chinese(app.config):
        return
    from sphinx.search import zh

    if not isinstance(zh.SearchChinese.latin_terms, _TermSet):
        zh.SearchChinese.latin_terms = _TermSet()


def glossary_groups(path: Path = GLOSSARY) -> dict[str, list[str]]:
    """Each English glossary term (lower case) -> the terms of its entry, in order.

    An entry of the glossary directive is its term lines (English, and Chinese,
    sometimes with a synonym: ``mean squared error`` / ``MSE`` / ``均方误差``),
    then its indented definition.
    """
    groups: dict[str, list[str]] = {}
    inside, current = False, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```{glossary}"):
            inside = True
            continue
        if not inside:
            continue
        if line.startswith("```"):
            break
        if line and not line[0].isspace() and not line.startswith(":"):
            current.append(line.strip())
            continue
        if current:
            for term in current:
                if not CJK.search(term):
                    groups[term.lower()] = current
            current = []
    return groups


def glossary_terms(path: Path = GLOSSARY) -> list[str]:
    """The glossary's Chinese terms, longest first."""
    terms = {t for group in glossary_groups(path).values() for t in group if CJK.search(t)}
    return sorted(terms, key=lambda t: (-len(t), t))


def _search_dictionary(app, config) -> None:
    """Chinese edition: jieba's user dictionary made from the glossary, given to Sphinx's zh search."""
    if not _chinese(config):
        return
    terms = glossary_terms()
    path = Path(app.doctreedir).parent / "jieba-glossary.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    # jieba's format: word, frequency, part of speech. A high frequency keeps a term whole.
    path.write_text("".join(f"{t} 100000 n\n" for t in terms), encoding="utf-8")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(path)}


def language_switch(pagename: str, language: str) -> str:
    """The HTML of the link to ``pagename`` in the other edition."""
    folder, tag, text = OTHER_EDITION["zh_CN" if str(language).startswith("zh") else "en"]
    href = "../" * pagename.count("/") + folder + pagename + ".html"
    # The navigation's name in the page's own language; the link's text in the other one.
    label = "阅读本页的英文版" if tag == "en" else "Read this page in Chinese"
    return (f'<nav class="language-switch" aria-label="{escape(label)}">'
            f'<a href="{escape(href)}" hreflang="{tag}" lang="{tag}">{escape(text)}</a></nav>\n')


def _page_context(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html" or doctree is None:
        return
    context["body"] = language_switch(pagename, app.config.language) + context.get("body", "")


def setup(app):
    app.add_transform(NotMessages)
    app.add_transform(TranslatePartCaptions)
    app.add_post_transform(TranslateAltTexts)
    app.connect("config-inited", _search_dictionary)
    app.connect("builder-inited", _fast_chinese_search)
    app.connect("doctree-read", _forget_message_documents)
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
