"""The book as a PDF (`make pdf`, tools/build_pdf.py), read back with real PDF tools.

The module builds the book, the student edition and the Chinese book, each once, into
_build/pdf/ (as `make pdf` does; each in the fixture of its own test class, so that the
three builds run on different cores), then checks them with poppler's pdftotext,
pdffonts and pdftoppm and with pypdf:

* every chapter's title is in the text and has a bookmark, in the book's order;
* the contents list, the numbered figures (as many as the sources have) and page numbers;
* every Chinese term of the glossary is in the text;
* every font is embedded, no character lacked a glyph, no line ran past the margin,
  no page's content ran into its footer;
* nothing of the web page is printed: no toggle labels, no buttons;
* the student edition has no solution (scanned as the student HTML book is) and
  no teacher's guide, and the scan does find the solutions in the teacher's book;
* a few pages rendered to PNG (_build/pdf/pages/) show something, so a person can look.

Without TeX Live and poppler (`make pdf-tools` installs them; CI runs it) the
tests are skipped.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import nbformat
import pytest
import yaml

from coursework import student_edition
from helpers import ROOT
from tools import build_pdf

OUT = ROOT / "_build" / "pdf"
WORK = ROOT / "_build" / "pdf-work"
CJK = re.compile(r"[\u3400-\u9fff]+")

pytestmark = pytest.mark.skipif(bool(build_pdf.missing_tools()),
                                reason=f"missing {', '.join(build_pdf.missing_tools())}: run `make pdf-tools`")


def _pdftotext(pdf: Path, *options: str) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", *options, str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFKC", out)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _build(edition: str, language: str = "en") -> Path:
    """One edition's PDF, built from scratch into _build/pdf/ (as `make pdf` does)."""
    (OUT / build_pdf.pdf_name(edition, language)).unlink(missing_ok=True)
    return build_pdf.build(edition, OUT, WORK, language=language)


# One fixture per PDF, each used by the tests of one class: `pytest -n auto --dist loadscope`
# gives each class to one worker, so the three builds run side by side.
@pytest.fixture(scope="module")
def book_pdf() -> Path:
    return _build("book")


@pytest.fixture(scope="module")
def student_pdf() -> Path:
    return _build("student")


@pytest.fixture(scope="module")
def zh_pdf() -> Path:
    # The Chinese edition of the book (the Chinese student edition takes the same path, with the
    # student source: `make pdf` builds it; here it would execute every notebook once more).
    return _build("book", "zh")


@pytest.fixture(scope="module")
def book_text(book_pdf) -> str:
    return _pdftotext(book_pdf)


def _toc_files(toc: dict) -> list[str]:
    return [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def chapter_titles() -> list[str]:
    """Each chapter's title (its first heading), in the order of _toc.yml, without Markdown."""
    titles = []
    for name in _toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))):
        path = ROOT / name
        if path.with_suffix(".ipynb").exists():
            nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
            source = next(c.source for c in nb.cells if c.cell_type == "markdown")
        else:
            source = path.with_suffix(".md").read_text(encoding="utf-8")
        heading = next(line for line in source.splitlines() if line.startswith("# "))
        titles.append(heading[2:].replace("`", "").strip())
    return titles


def _outline_titles(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    def walk(items):
        for item in items:
            if isinstance(item, list):
                yield from walk(item)
            else:
                yield item.title
    return [unicodedata.normalize("NFKC", t) for t in walk(PdfReader(pdf).outline)]


def declared_figures() -> int:
    """How many numbered figures the sources declare: notebook plots and the pages' figures."""
    declared = 0
    for nb_path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        declared += sum(1 for c in nb.cells if c.metadata.get("mystnb", {}).get("figure"))
    return declared + sum(p.read_text(encoding="utf-8").count("{figure}") for p in (ROOT / "chapters").glob("*.md"))


# A page's content taller than the text area (TeX's "Overfull \vbox" in the log) reaches into
# the space above the footer, whose baseline lies 2 lines (24 pt) below the text: up to 5 pt
# stays well clear of the page number; more runs into it (a long code block in a solution box was
# 100 pt too tall before book_ext/latex/nnlibbook.sty made code in boxes breakable).
VBOX_TOLERANCE_PT = 5.0


def check_fonts_and_layout(pdf: Path, work: str) -> None:
    """Every font embedded (a CJK one among them), no missing glyph, no line past the margin, no
    page overfull, from pdffonts and xelatex's log (_build/pdf-work/<work>/)."""
    rows = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    fonts = rows.splitlines()[2:]
    assert fonts, rows
    for row in fonts:
        # name type encoding emb sub uni object-id: 'emb' is the fourth field from the end.
        assert row.split()[-5] == "yes", f"{work}: a font is not embedded: {row}"
    assert any("CJK" in row for row in fonts), f"{work}: no CJK font in the PDF"
    log = (WORK / work / "_build" / "latex" / "book.log").read_text(encoding="utf-8", errors="replace")
    assert build_pdf.latex_problems(log) == []
    # A line of code or output wider than the text: TeX reports an overfull box. (Not in the
    # index, book.ind, read last: an entry there may reach into the gap between its two
    # columns, as a long name in the Chinese index does, but nothing is cut.)
    body = log.split("(./book.ind", 1)[0]
    overfull = re.findall(r"^Overfull \\hbox \((\d+\.\d+)pt too wide\)", body, re.MULTILINE)
    assert not overfull, f"{work}: {len(overfull)} lines run past the margin (book.log)"
    # A page whose content is taller than the text area: it prints over the footer.
    tall = [float(pt) for pt in re.findall(r"^Overfull \\vbox \((\d+\.\d+)pt too high\)", body, re.MULTILINE)]
    too_tall = [pt for pt in tall if pt > VBOX_TOLERANCE_PT]
    assert not too_tall, (f"{work}: {len(too_tall)} pages overfull by up to {max(too_tall):.1f} pt: their "
                          "content runs into the footer (Overfull \\vbox in book.log)")


class TestBook:
    """The English book's PDF."""

    def test_every_chapter_is_in_the_text_with_a_bookmark_in_order(self, book_pdf, book_text):
        titles = chapter_titles()
        assert len(titles) >= 10
        text = _flat(book_text)
        missing = [t for t in titles if t not in text]
        assert not missing, f"chapter titles not in the PDF's text: {missing}"
        bookmarks = _outline_titles(book_pdf)
        positions = []
        for title in titles:
            hits = [i for i, b in enumerate(bookmarks) if b.endswith(title)]
            assert hits, f"no bookmark for the chapter {title!r}; bookmarks: {bookmarks[:30]}"
            positions.append(hits[0])
        assert positions == sorted(positions), "the chapters' bookmarks are not in the book's order"
        # Sections have bookmarks too, and so does the introduction.
        assert "Introduction" in bookmarks
        assert len(bookmarks) > 3 * len(titles)

    def test_contents_page_numbers_and_numbered_figures(self, book_text):
        pages = book_text.split("\f")
        contents = next((p for p in pages[:6] if p.strip().startswith("CONTENTS") or "Contents" in p[:200]), None)
        assert contents is not None, "no contents list in the first pages"
        # The contents list gives a page number for the first chapter.
        assert re.search(r"Neurons\s*\.*\s*\d+", _flat(" ".join(pages[:6])).replace(" .", "")), \
            "the contents list gives no page number for chapter 1"
        # Every page of the main matter carries its number.
        numbered = sum(1 for i, p in enumerate(pages[10:-3], start=11) if re.search(r"(^|\s)\d{1,3}(\s|$)", p))
        assert numbered > 0.9 * len(pages[10:-3])
        # Every figure the sources declare is a numbered figure with its caption.
        declared = declared_figures()
        captions = re.findall(r"^Fig\. (\d+(?:\.\d+)?): \S", book_text, re.MULTILINE)
        assert len(captions) == declared, f"{len(captions)} numbered captions in the PDF, {declared} figures in the sources"
        assert len(set(captions)) == len(captions), "two figures share a number"

    def test_every_chinese_glossary_term_is_printed(self, book_text):
        glossary = (ROOT / "chapters" / "glossary.md").read_text(encoding="utf-8")
        block = glossary.split("```{glossary}", 1)[1].split("```", 1)[0]
        terms = sorted({t for line in block.splitlines() if not line.startswith(" ") for t in CJK.findall(line)})
        assert len(terms) >= 20, terms
        text = book_text.replace("\n", "")
        missing = [t for t in terms if t not in text]
        assert not missing, f"Chinese glossary terms missing from the PDF's text: {missing}"

    def test_no_part_of_the_web_page_is_printed(self, book_text):
        for label in ("Show code cell", "Hide code cell", "Click to show", "Click to hide", "Copy to clipboard",
                      "Download", "Launch", "Skip to main content", "Edit this page", "Print to PDF"):
            assert label not in book_text, f"the PDF prints {label!r}"

    def test_fonts_are_embedded_and_no_glyph_or_line_is_lost(self, book_pdf):
        check_fonts_and_layout(book_pdf, "book")

    def test_the_solution_scan_finds_the_solutions_in_the_teachers_book(self, book_pdf):
        # The scan that must find nothing in the student edition finds them here: it can fail.
        found = student_edition.verify_pdf(book_pdf, snippets=student_edition.solution_snippets())
        assert any("has the heading" in p for p in found)
        assert sum("shows a solution" in p for p in found) >= 10

    def test_a_few_pages_render(self, book_pdf):
        pages_dir = OUT / "pages"
        pages_dir.mkdir(parents=True, exist_ok=True)
        import matplotlib.image as mpimg

        for first in (1, 3, 12, 40):
            stem = pages_dir / f"book-{first:03d}"
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(first), "-l", str(first),
                            str(book_pdf), str(stem)], check=True)
            image = mpimg.imread(f"{stem}.png")
            assert image.shape[0] > 600 and image.shape[1] > 400
            assert image[..., :3].min() < 0.5, f"page {first} is blank"


class TestStudent:
    """The student edition's PDF."""

    def test_student_edition_has_no_solution(self, student_pdf):
        student_text = _pdftotext(student_pdf)
        assert "(student edition)" in _flat(student_text[:2000])
        assert "Solution to Exercise" not in student_text
        assert "Teaching with this book" not in student_text
        snippets = student_edition.solution_snippets()
        assert student_edition.verify_pdf(student_pdf, snippets=snippets) == []

    def test_fonts_are_embedded_and_no_glyph_or_line_is_lost(self, student_pdf):
        check_fonts_and_layout(student_pdf, "student")


class TestChinese:
    """The Chinese edition's PDF (中文版)."""

    def test_the_chinese_edition_has_its_chapters_bookmarks_and_figures_in_chinese(self, zh_pdf):
        from tools import i18n

        titles = []
        for name, english in zip(_toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))),
                                 chapter_titles()):
            catalog = i18n.LOCALE / f"{name}.po"
            message = i18n.read(catalog).get(english) if catalog.exists() else None
            # pdftotext's text is NFKC-normalised (_pdftotext): a full-width colon reads as ":".
            titles.append(unicodedata.normalize("NFKC", message.string if message is not None and message.string
                                                else english))
        assert "反向传播" in titles and "术语表" in titles, titles
        text = _pdftotext(zh_pdf)
        flat = _flat(text).replace(" ", "")
        missing = [t for t in titles if t.replace(" ", "") not in flat]
        assert not missing, f"Chinese chapter titles not in the Chinese PDF's text: {missing}"
        bookmarks = [b.replace(" ", "") for b in _outline_titles(zh_pdf)]
        assert all(any(b.endswith(t.replace(" ", "")) for b in bookmarks) for t in titles), bookmarks[:30]
        # Its figures are numbered and captioned in Chinese, as many as in the English book.
        assert len(re.findall(r"^图 \d+(?:\.\d+)?[:：]", text, re.MULTILINE)) == declared_figures()

    def test_fonts_are_embedded_and_no_glyph_or_line_is_lost(self, zh_pdf):
        check_fonts_and_layout(zh_pdf, "book-zh")


def test_the_log_check_finds_a_missing_glyph():
    log = "Missing character: There is no ✓ (U+2713) in font FreeSerif:mode=node;!\n"
    assert build_pdf.latex_problems(log)
