"""The chapters' notebooks in Chinese, from the Chinese edition's message catalogs.

The Chinese HTML book is built by Sphinx, which translates the parsed
document. A notebook handed out to students (``python -m
coursework.student_edition OUTDIR --language zh``) is read in Jupyter, not
through Sphinx: its markdown cells have to be translated as *source*. This
module does that with the same catalogs (``locale/zh_CN/LC_MESSAGES/``):

* each markdown cell is parsed by myst-parser's markdown-it parser with the
  book's extensions (``_config.yml``, ``parse: myst_enable_extensions``:
  amsmath, dollarmath, colon_fence, deflist, substitution), as myst-nb parses
  it for the book;
* every block Sphinx makes a message of (a paragraph, a heading, a list
  item's paragraph, a table cell, a definition term, a footnote, an
  admonition's title) gets the msgid Sphinx gives it: the block's raw inline
  source, newlines made spaces, stripped (``sphinx.util.nodes.extract_messages``
  on myst-parser's ``rawsource``);
* where the catalog has a translation (not empty, not fuzzy), the block's
  source lines are replaced by it, keeping what comes before the text on its
  first line: list marker, indentation, heading hashes, block-quote ``>``;
  a table row is written again from its translated cells;
* directives whose body is markdown (``{exercise}``, ``{admonition}``,
  ``{note}``, ``:::`` colon fences...) are translated inside, recursively;
  their options (``:label: ...``) stay. Code fences, display maths (``$$``,
  amsmath environments) and code cells are never touched, and inline maths,
  code spans and roles are whatever the translation kept (``tools/i18n.py
  check`` makes sure it kept them exactly);
* a code cell's figure caption and alt text (``metadata["mystnb"]["figure"]
  ["caption"]``, ``metadata["mystnb"]["image"]["alt"]``) are messages too.

:class:`Translator` records every block it saw, so that the caller can say
what was translated and what was not (blocks with no words, a formula or a
code span only, are not counted: they read the same in Chinese).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog

import yaml

from tools.i18n import LOCALE, ROOT, has_words, read

#: Directives whose body is not markdown: left exactly as they are.
NOT_MARKDOWN = {"code", "code-block", "sourcecode", "code-cell", "literalinclude", "math", "raw", "eval-rst",
                "csv-table", "toctree", "include", "mermaid", "graphviz", "glossary", "bibliography",
                "exercise-start", "exercise-end", "solution-start", "solution-end"}
#: Directives whose argument is a title (a message of its own).
TITLED = {"admonition", "topic", "sidebar", "exercise", "table", "list-table", "card", "dropdown", "tab-item"}

_DIRECTIVE = re.compile(r"^\{(?P<name>[A-Za-z][\w:-]*)\}[ \t]*(?P<arg>.*?)[ \t]*$")
_OPTION = re.compile(r"^\s*:[\w-]+:")


@lru_cache(maxsize=1)
def _parser():
    """myst-parser's markdown-it parser, configured as the book's (one per process)."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions=set(extensions())), RendererHTML)


def extensions() -> list[str]:
    """The book's markdown extensions (_config.yml, parse: myst_enable_extensions)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return list(config.get("parse", {}).get("myst_enable_extensions", []))


def catalog_path(page: str) -> Path:
    """The catalog of a page of the book, "chapters/01_neurons" -> locale/zh_CN/.../01_neurons.po."""
    return LOCALE / f"{page}.po"


def msgid_of(source: str) -> str:
    """The msgid Sphinx gives a block whose raw source is ``source``."""
    return source.replace("\n", " ").strip()


@dataclass
class Block:
    """One message-sized piece of a notebook's text."""

    kind: str                   # paragraph, heading, table cell, title, caption, alt text, ...
    msgid: str
    translation: str | None     # None: the catalog has no translation for it
    cell: int | None = None     # index of the cell in the instructor's notebook, when known

    @property
    def words(self) -> bool:
        """Is there prose in it (not a formula, a code span or a number only)?"""
        return has_words(self.msgid)


@dataclass
class Translator:
    """Translates the markdown and figure metadata of one page's notebook from its catalog."""

    catalog: Catalog
    page: str = ""
    blocks: list[Block] = field(default_factory=list)
    cell: int | None = None     # the cell being translated (recorded with each block)

    @classmethod
    def for_page(cls, page: str) -> "Translator":
        path = catalog_path(page)
        if not path.exists():
            raise FileNotFoundError(f"no Chinese catalog for {page}: {path} is missing")
        return cls(read(path), page)

    # -- messages -------------------------------------------------------------------------------
    def message(self, msgid: str, kind: str) -> str | None:
        """The translation of ``msgid`` (None if there is none), recorded as a block."""
        if not msgid:
            return None
        found = self.catalog.get(msgid)
        text = found.string if found is not None and found.string and not found.fuzzy else None
        if isinstance(text, (list, tuple)):      # plural forms: not used by Sphinx for prose
            text = text[0] or None
        self.blocks.append(Block(kind, msgid, text, self.cell))
        return text

    @property
    def translated(self) -> list[Block]:
        return [b for b in self.blocks if b.words and b.translation is not None]

    @property
    def untranslated(self) -> list[Block]:
        return [b for b in self.blocks if b.words and b.translation is None]

    # -- cells ----------------------------------------------------------------------------------
    def markdown(self, source: str) -> str:
        """``source`` (a markdown cell) with every block the catalog translates replaced."""
        lines = source.split("\n")
        return "\n".join(self._lines(lines))

    def metadata(self, metadata: dict) -> dict:
        """A copy of a code cell's metadata with its figure caption and alt text translated."""
        meta = copy.deepcopy(metadata)
        mystnb = meta.get("mystnb")
        if not isinstance(mystnb, dict):
            return meta
        for section, key, kind in (("figure", "caption", "caption"), ("image", "alt", "alt text")):
            part = mystnb.get(section)
            if isinstance(part, dict) and isinstance(part.get(key), str) and part[key].strip():
                msgid = part[key] if kind == "alt text" else msgid_of(part[key])
                text = self.message(msgid, kind)
                if text is not None:
                    part[key] = text
        return meta

    # -- the markdown -----------------------------------------------------------------------------
    def _lines(self, lines: list[str]) -> list[str]:
        tokens = _parser().parse("\n".join(lines), {})
        edits: list[tuple[int, int, list[str]]] = []     # (first line, end line, new lines)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.type == "inline" and i > 0 and token.map is not None:
                opener = tokens[i - 1].type
                kind = {"paragraph_open": "paragraph", "heading_open": "heading", "dt_open": "term"}.get(opener)
                if kind is not None:
                    edit = self._block(lines, token.map[0], token.content, kind)
                    if edit:
                        edits.append(edit)
            elif token.type == "tr_open" and token.map is not None:
                cells = []
                j = i + 1
                while tokens[j].type != "tr_close":
                    if tokens[j].type == "inline":
                        cells.append(tokens[j].content)
                    j += 1
                edit = self._row(lines, token.map[0], cells)
                if edit:
                    edits.append(edit)
                i = j
            elif token.type in ("fence", "colon_fence") and token.map is not None:
                edit = self._directive(lines, token)
                if edit:
                    edits.append(edit)
            i += 1
        out = list(lines)
        for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
            out[start:end] = new
        return out

    def _block(self, lines: list[str], start: int, content: str, kind: str):
        """Replace the block whose inline source ``content`` starts on ``lines[start]``."""
        text = self.message(msgid_of(content), kind)
        if text is None:
            return None
        own = content.split("\n")
        first, last = own[0], own[-1]
        end = start + len(own)
        if end > len(lines):
            return None
        at = _position(lines[start], first)
        at_last = _position(lines[end - 1], last)
        if at < 0 or at_last < 0:
            # The text is not where the parser says (cannot happen with markdown-it's maps): the
            # English stays, and the block is reported as untranslated.
            self.blocks[-1].translation = None
            return None
        prefix = lines[start][:at]
        suffix = lines[end - 1][at_last + len(last):]
        if kind != "heading" or not suffix.strip():
            suffix = ""             # a paragraph's trailing spaces (a hard break at its end): dropped
        return start, end, [prefix + " ".join(text.split("\n")) + suffix]

    def _row(self, lines: list[str], row: int, cells: list[str]):
        """A table row written again with its translated cells (None if none is translated)."""
        new, changed = [], False
        for cell in cells:
            text = self.message(msgid_of(cell), "table cell") if cell.strip() else None
            new.append(text if text is not None else cell)
            changed |= text is not None
        if not changed or row >= len(lines):
            return None
        prefix = re.match(r"^[ \t>]*", lines[row]).group(0)
        return row, row + 1, [prefix + "| " + " | ".join(c.replace("\n", " ") for c in new) + " |"]

    def _directive(self, lines: list[str], token):
        """A fenced directive with its title and markdown body translated (None if nothing changes)."""
        m = _DIRECTIVE.match(token.info.strip())
        if not m or m.group("name") in NOT_MARKDOWN:
            return None          # a code fence, or a directive whose body is not markdown
        start, end = token.map
        opening = lines[start]
        fence_at = opening.find(token.markup)
        if fence_at < 0:
            return None
        prefix = opening[:fence_at]
        closed = end - 1 > start and lines[end - 1].strip().startswith(token.markup) \
            and set(lines[end - 1].strip()) == {token.markup[0]}
        body_end = end - 1 if closed else end
        new_opening = opening
        arg = m.group("arg")
        if arg and m.group("name") in TITLED:
            title = self.message(msgid_of(arg), "title")
            if title is not None:
                at = opening.rfind(arg)
                new_opening = opening[:at] + title + opening[at + len(arg):]
        body = [_unprefix(line, prefix) for line in lines[start + 1:body_end]]
        k = 0
        if body and body[0].strip() == "---":           # options as YAML between --- lines
            k = 1
            while k < len(body) and body[k].strip() != "---":
                k += 1
            k = min(k + 1, len(body))
        else:
            while k < len(body) and _OPTION.match(body[k]):
                k += 1
        inner = body[:k] + (self._lines(body[k:]) if body[k:] else [])
        new_body = [_reprefix(line, prefix) for line in inner]
        new = [new_opening] + new_body + (lines[end - 1:end] if closed else [])
        if new == lines[start:end]:
            return None
        return start, end, new


def _position(line: str, text: str) -> int:
    """Where ``text`` (a line of a block's inline source) starts in its source ``line``, or -1."""
    stripped, wanted = line.rstrip(), text.rstrip()
    if wanted and stripped.endswith(wanted):
        return len(stripped) - len(wanted)
    return line.find(text) if text else len(line)


def _unprefix(line: str, prefix: str) -> str:
    """A directive's body line without the indentation (or block-quote marks) of its opening fence."""
    if not prefix:
        return line
    if line.startswith(prefix):
        return line[len(prefix):]
    if not prefix.strip():
        return line[min(len(line) - len(line.lstrip(" ")), len(prefix)):]
    return line


def _reprefix(line: str, prefix: str) -> str:
    if not prefix:
        return line
    if not prefix.strip():
        return prefix + line if line.strip() else line
    return (prefix + line).rstrip() if not line.strip() else prefix + line
