"""The Chinese student edition: python -m coursework.student_edition OUTDIR --language zh.

The student notebooks of two chapters (1: a table, figures, coding and written
exercises; 7: an implementation note, an admonition) are written in English and
in Chinese and compared: every block of prose is Chinese but the few the tool's
report lists, the code cells are the English edition's byte for byte, the
exercise headings read "练习 N.k：title", every formula survives, and chapter 1
runs from top to bottom with every check cell saying NOT DONE YET. The first
tests pin the translation of markdown source (tools/i18n_notebooks.py) on a
small catalog of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections import Counter

import nbformat
import pytest
from babel.messages.catalog import Catalog

from coursework import EXERCISES
from coursework import student_edition as se
from coursework import written
from test_student_edition import _run_all
from tools import i18n
from tools.i18n_notebooks import Translator, _parser

ONLY = "1,7"               # the chapters converted
RUN = "01_neurons.ipynb"   # the one executed (chapter 7 trains for minutes)
CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------- translating markdown source

def _translator(messages: dict[str, str]) -> Translator:
    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    return Translator(catalog, "test")


SOURCE = """\
## The *title* ##

A paragraph on
two lines with $x_1$ and `code`.

- a {term}`neuron <neuron>`
  item
- untranslated item

> quoted
> text

| `init` | weights |
|---|---|
| `"he"` | small |

```{admonition} Implementation note
:class: dropdown

Inside the note.

$$
a = b
$$
```

:::{exercise}
:label: ex-1

**Bold.** Statement.
:::

```python
A paragraph on
```

Setext heading
--------------"""

MESSAGES = {
    "The *title*": "*标题*",
    "A paragraph on two lines with $x_1$ and `code`.": "一段含有 $x_1$ 和 `code` 的文字。",
    "a {term}`neuron <neuron>` item": "一个{term}`神经元 <neuron>`条目",
    "quoted text": "引用的文字",
    "weights": "权重",
    "small": "小",
    "Implementation note": "实现说明",
    "Inside the note.": "说明里面。",
    "**Bold.** Statement.": "**粗体**。陈述。",
    "Setext heading": "标题二",
}


def test_markdown_source_is_translated_block_by_block():
    t = _translator(MESSAGES)
    assert t.markdown(SOURCE) == """\
## *标题* ##

一段含有 $x_1$ 和 `code` 的文字。

- 一个{term}`神经元 <neuron>`条目
- untranslated item

> 引用的文字

| `init` | 权重 |
|---|---|
| `"he"` | 小 |

```{admonition} 实现说明
:class: dropdown

说明里面。

$$
a = b
$$
```

:::{exercise}
:label: ex-1

**粗体**。陈述。
:::

```python
A paragraph on
```

标题二
--------------"""
    # every block is recorded; those without words (a code span) do not count
    assert [b.msgid for b in t.untranslated] == ["untranslated item"]
    assert len(t.translated) == len(MESSAGES)
    assert {b.msgid for b in t.blocks if not b.words} == {"`init`", '`"he"`'}


def test_a_directive_in_a_list_item_keeps_its_indentation_and_fuzzy_messages_are_not_used():
    t = _translator({"Inside the note.": "说明里面。", "Item.": "条目。"})
    t.catalog.add("Second.", "第二。", flags=["fuzzy"])
    source = "1. Item.\n\n   ```{note}\n   Inside the note.\n   ```\n\n   Second."
    assert t.markdown(source) == "1. 条目。\n\n   ```{note}\n   说明里面。\n   ```\n\n   Second."
    assert [b.msgid for b in t.untranslated] == ["Second."]


def test_figure_caption_and_alt_text_are_translated_in_the_metadata():
    t = _translator({"A curve. Two lines.": "一条曲线。两行。", "Alt text": "替代文字"})
    meta = {"mystnb": {"figure": {"caption": "A curve.\nTwo lines.", "name": "fig-x"}, "image": {"alt": "Alt text"}},
            "tags": ["hide-input"]}
    assert t.metadata(meta) == {"mystnb": {"figure": {"caption": "一条曲线。两行。", "name": "fig-x"},
                                           "image": {"alt": "替代文字"}}, "tags": ["hide-input"]}
    assert meta["mystnb"]["image"]["alt"] == "Alt text"     # a copy: the teacher's notebook is not changed


def test_a_chinese_title_and_figure_references_read_well():
    d = se.find_directive("```{exercise}\n:label: ex-9\n\n**为什么不用 pickle**？一位同学提议……\n```")
    assert se.split_title(d) == ("为什么不用 pickle？", "一位同学提议……")
    d = se.find_directive("```{exercise}\n:label: ex-9\n\n**Dense 层的前向传播**。编写 `f`。\n```")
    assert se.split_title(d) == ("Dense 层的前向传播", "编写 `f`。")
    place = {"fig-a": "above", "fig-b": "below"}.get
    text = "在 {numref}`fig-a` 中，见 `x` {numref}`fig-b` 和（{numref}`fig-a`，左）。"
    assert se.plain_markdown(text, place, se.CHINESE) == "在上图中，见 `x` 下图和（上图，左）。"


def test_the_class_checker_reads_the_chinese_placeholder_as_no_answer(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("### 练习 1.4：偏置有什么用", metadata={"coursework": {"exercise": "ex-01-bias"}}),
        nbformat.v4.new_markdown_cell(se.ANSWER_PLACEHOLDER_ZH, metadata={"coursework": {"answer": "ex-01-bias"}})])
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert written.collect(tmp_path / "a.ipynb", ["ex-01-bias"]) == {"ex-01-bias": ""}


# --------------------------------------------------------------------------- the book's chapters

@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """(English folder, Chinese folder, the Chinese reports, what the tool printed)."""
    en = tmp_path_factory.mktemp("student-en")
    zh = tmp_path_factory.mktemp("student-zh")
    se.write_edition(en, only=ONLY, with_nnlib=False)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert se.main([str(zh), "--only", ONLY, "--language", "zh"]) == 0
    again = tmp_path_factory.mktemp("reports")    # the same conversion, for its reports
    reports = {p.name: se.convert_file(p, again / p.name, language="zh") for p in se.select_chapters(ONLY)}
    return en, zh, reports, printed.getvalue()


def _pairs(en, zh):
    for path in sorted(zh.glob("*.ipynb")):
        yield path.name, nbformat.read(en / path.name, as_version=4), nbformat.read(path, as_version=4)


def _blocks(source: str) -> list[str]:
    """The inline source of every paragraph, heading, table cell and term of a markdown cell."""
    tokens = _parser().parse(source, {})
    return [t.content for i, t in enumerate(tokens) if t.type == "inline" and i > 0
            and tokens[i - 1].type in ("paragraph_open", "heading_open", "th_open", "td_open", "dt_open")]


def _listed(blocks: list[str]) -> set[str]:
    """The English of the blocks a report lists ("teacher's cell N, kind: English"), as the hand-out shows it."""
    return {se.plain_markdown(block.split(": ", 1)[1]).strip() for block in blocks}


def test_the_report_says_what_was_translated(editions):
    _, zh, reports, printed = editions
    assert sorted(p.name for p in zh.glob("*.ipynb")) == ["01_neurons.ipynb", "07_momentum.ipynb"]
    for name, r in reports.items():
        assert r.language == "zh" and r.translated > 40, name
        line = next(line for line in printed.splitlines() if line.startswith(name))
        assert line.endswith(f"; zh: {r.translated} of {r.translated + len(r.untranslated)} prose blocks translated")
    # The catalogs are complete (tests/test_translation.py): nothing is left in English, and the
    # blocks whose translation is the English itself are names (the truth table's AND, OR, XOR).
    assert [r.untranslated for r in reports.values()] == [[], []]
    assert "Not translated (no translation in the catalog, left in English): none" in printed
    kept = [b for r in reports.values() for b in r.kept]
    assert _listed(kept) == {"AND", "OR", "XOR"}
    assert all(f"teacher's cell 29, table cell: {name}" in printed for name in ("AND", "OR", "XOR"))
    # the READMEs: the English one says that the notebooks are Chinese, and a Chinese one beside it
    assert "README.zh-CN.md" in (zh / "README.md").read_text(encoding="utf-8")
    assert (zh / "README.zh-CN.md").read_text(encoding="utf-8").startswith(f"# {i18n.ZH_TITLE}：学生版\n")


def test_every_block_of_prose_is_chinese_but_those_the_report_lists(editions):
    _, zh, reports, _ = editions
    for name, _, nb in _pairs(*editions[:2]):
        allowed = _listed(reports[name].untranslated + reports[name].kept)
        assert se.leaks(nb) == [] and se.raw_myst(nb) == [], name
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for block in _blocks(cell.source):
                if i18n.has_words(block):
                    assert CJK.search(block) or block.strip() in allowed, (name, block)
        placeholders = [c.source for c in nb.cells if c.metadata.get("coursework", {}).get("answer")]
        assert placeholders and set(placeholders) == {"*在这里写下你的答案。*"}
        assert se.STUDENT_EXERCISES_INTRO_ZH in [c.source for c in nb.cells]


def test_code_cells_are_the_english_editions_byte_for_byte(editions):
    for name, en, zh in _pairs(*editions[:2]):
        assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells], name
        assert [c.id for c in en.cells] == [c.id for c in zh.cells], name
        for a, b in zip(en.cells, zh.cells):
            if a.cell_type != "code":
                continue
            assert a.source == b.source and b.outputs == [] and b.execution_count is None, (name, a.source)
            # the metadata too, but for the figure's caption and alt text, which are Chinese
            meta_a, meta_b = dict(a.metadata), dict(b.metadata)
            figure_a, figure_b = meta_a.pop("mystnb", {}), meta_b.pop("mystnb", {})
            assert meta_a == meta_b, name
            assert figure_a.get("figure", {}).get("name") == figure_b.get("figure", {}).get("name")
            for text in (figure_b.get("figure", {}).get("caption"), figure_b.get("image", {}).get("alt")):
                assert text is None or CJK.search(text), (name, text)


def test_exercise_headings_are_chinese(editions):
    _, _, reports, _ = editions
    for name, en, zh in _pairs(*editions[:2]):
        chapter = se.chapter_number(se.CHAPTERS / name)
        headings = [c.source.split("\n", 1)[0] for c in zh.cells if c.metadata.get("coursework", {}).get("exercise")]
        assert len(headings) == len(reports[name].exercises) > 0, name
        for k, heading in enumerate(headings, start=1):
            m = re.fullmatch(rf"### 练习 {chapter}\.{k}：(.+)", heading)
            assert m and CJK.search(m.group(1)), (name, heading)
        assert not any("Exercise" in c.source for c in zh.cells if c.cell_type == "markdown"), name


_FORMULA = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?!\$)(?:\\.|[^$\\])+?\$|\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S)


def test_formulas_survive_in_every_cell_and_every_translated_block(editions):
    for name, en, zh in _pairs(*editions[:2]):
        for a, b in zip(en.cells, zh.cells):
            if a.cell_type == "markdown":
                # (a formula broken over two source lines is on one in the translation, as in its msgid)
                formulas = lambda cell: Counter(" ".join(m.group(0).split())   # noqa: E731
                                                for m in _FORMULA.finditer(cell.source))
                assert formulas(a) == formulas(b), (name, a.source[:80])
        # the same structure: headings, lists, tables, quotes and maths blocks in the same places
        for a, b in zip(en.cells, zh.cells):
            if a.cell_type == "markdown" and a.source != se.STUDENT_EXERCISES_INTRO:
                shape = lambda cell: [t.type for t in _parser().parse(cell.source, {})]   # noqa: E731
                assert shape(a) == shape(b), (name, a.source[:80])
    for path in se.select_chapters(ONLY):
        t = Translator.for_page(f"chapters/{path.stem}")
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                t.markdown(cell.source)
        for block in t.translated:
            assert i18n.tokens(block.msgid) == i18n.tokens(block.translation), (path.name, block.msgid)


def test_the_chinese_notebook_runs_and_every_check_says_not_done_yet(editions):
    _, zh, reports, _ = editions
    [nb] = asyncio.run(_run_all([zh / RUN], zh, parallel=1))
    checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
    assert len(checks) == reports[RUN].check_cells > 0
    said = []
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        match = re.match(r"(ex-[\w-]+): NOT DONE YET - ", text)
        assert match, (cell.source, text)
        said.append(match.group(1))
    assert sorted(said) == sorted(label for label in EXERCISES if label.startswith("ex-01-"))
