"""The built book, opened page by page in a real browser (headless Chromium).

For every HTML page of the book this checks that the page
  * logs no console error and throws no JavaScript exception,
  * requests nothing from any host but the local test server (every other
    request is intercepted, aborted and reported: the book must work offline),
  * loads every image,
  * typesets every formula (MathJax output present, no raw TeX left, no TeX errors),
  * links only to local files that exist,
  * on notebook pages: has an .ipynb download button, the download being a
    notebook, and launch (Binder, Colab), repository and issue buttons that
    lead to the repository _config.yml names, or none while it names none,
  * starts with every exercise solution collapsed, and opens it on a click,
  * breaks no rule of WCAG 2 (2.0, 2.1 and 2.2, levels A and AA) that axe-core
    checks, in the theme's light mode, with hidden code cells and solutions
    unfolded (each page is opened once for all of these: TestEnglishPages,
    TestChinesePages);
and, across the book: that no page or stylesheet loads anything from another host,
that MathJax is served by the book itself, that the API reference covers every
public name of nnlib, that the book has solutions and every one is a dropdown,
and that search finds a term.

The Chinese edition (中文版, under zh/) is part of the build, so every check above
runs on its pages too; tests of their own check its language attribute, its
language switch in both directions, that its pages read in Chinese (no MyST
markup that a translation broke), its figures' Chinese captions and alt texts,
and that its search finds a Chinese term (jieba) in the chapter that teaches it.

The book is the one `make test` has just built (_build/html); set BOOK_HTML to test
another build folder. Chromium is Debian's system browser (/usr/bin/chromium, or
CHROMIUM=...) driven by Playwright; browsers are never downloaded. Without it the
tests are skipped: `make browser` installs it. The server and browser settings
are those of tools/screenshots.py (tools/book_browser.py).

axe-core (Deque's accessibility engine, MPL-2.0) is installed from the npm
registry at a pinned version by tools/install_static.sh, which `make test` runs
when it is missing, into _vendor/npm/node_modules/axe-core/ (git-ignored); it is
not part of the book (it is not copied into the build), the test injects it into
each page. Without it that test is skipped (AXE_JS=... names another copy). A
violation is fixed in the book, not by turning a rule off: book_static/ (colours),
book_ext/accessibility.py and book_ext/templates/ (the theme's and myst-nb's markup).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from book_ext import repository_setting
from helpers import ROOT
from tools import book_browser as bb

HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SEARCH_TERM = "backpropagation"
# The repository that _config.yml names (book_ext/repository_setting.py), or None.
REPO = repository_setting.read()
LAUNCH_HOSTS = ("github.com", "mybinder.org", "colab.research.google.com")

PAGES = bb.book_pages(HTML)


def _stale() -> bool:
    """Is the default build older than its sources? (`make test` always builds first.)"""
    if "BOOK_HTML" in os.environ or not (HTML / "searchindex.js").is_file():
        return False
    sources = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("chapters/**/*"), *ROOT.glob("nnlib/*.py")]
    newest = max(f.stat().st_mtime for f in sources if f.is_file())
    return newest > (HTML / "searchindex.js").stat().st_mtime


def _skip_reason() -> str | None:
    if not PAGES:
        return f"no built book in {HTML}: run `make build-book` first (`make test` does), or set BOOK_HTML"
    if _stale():
        return (f"the book in {HTML} is older than its sources: run `make build-book` first "
                "(`make test` does), or set BOOK_HTML to test that folder anyway")
    if not bb.CHROMIUM.exists():
        return (f"Chromium not found at {bb.CHROMIUM}: run `make browser` to install Debian's chromium "
                "package (or set CHROMIUM=/path/to/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is missing: pip install -r requirements.txt"
    return None


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server():
    """Serve the built book on 127.0.0.1 at a free port, in a thread."""
    with bb.serve(HTML) as base:
        yield base


@pytest.fixture(scope="module")
def browser(server):
    """A Chromium context with a fresh profile; every non-local request is aborted and recorded."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="book-chromium-") as profile, sync_playwright() as pw:
        context, blocked = bb.open_context(pw, profile, server, width=1280)
        context.set_default_timeout(15_000)
        context.blocked = blocked  # type: ignore[attr-defined]
        yield context
        context.close()


_REFRESH = re.compile(r"<meta http-equiv=\"refresh\" content=\"\d+;\s*url=([^\"]+)\"", re.I)


class Visit:
    """One page opened in the browser, with everything it logged and requested."""

    def __init__(self, context, url: str):
        self.console_errors: list[str] = []
        self.bad_responses: list[str] = []
        self.start = len(context.blocked)
        self.context = context
        self.page = page = context.new_page()
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            f"{m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
        page.on("response", lambda r: r.status >= 400 and self.bad_responses.append(f"{r.status} {r.url}"))
        page.goto(url, wait_until="load")
        # A redirect page (the book's index.html): follow it, then check the target.
        refresh = _REFRESH.search((HTML / urlparse(url).path.lstrip("/")).read_text(encoding="utf-8"))
        if refresh:
            page.wait_for_url(urljoin(url, refresh.group(1)), wait_until="load")
        # MathJax is loaded with `defer`: wait until it has typeset the page
        # (images are waited for in test_page).
        page.evaluate(bb.WAIT_FOR_RENDER_JS, False)

    @property
    def blocked(self) -> list[str]:
        return self.context.blocked[self.start:]

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def visit(browser, server):
    visits: list[Visit] = []

    def _open(path: str) -> Visit:
        v = Visit(browser, urljoin(server, path))
        visits.append(v)
        return v

    yield _open
    for v in visits:
        v.close()


# --------------------------------------------------------------------------- per-page checks

# Text outside code that still looks like TeX means a formula was not typeset.
_RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac|\$[^$\s][^$\n]{0,80}\$")

_PROSE_TEXT_JS = """() => {
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const out = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (el && !el.closest(skip) && n.textContent.trim()) out.push(n.textContent);
    }
    return out;
}"""

_IMAGES_JS = """async () => {
    const imgs = Array.from(document.images);
    imgs.forEach(i => { i.loading = 'eager'; });
    await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
        i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 10000); })));
    return imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
}"""


def _page_problems(v: Visit, path: str) -> list[str]:
    """What is wrong with one opened page, but for accessibility (below)."""
    page = v.page
    problems: list[str] = []

    if v.blocked:
        problems.append("requests to other hosts (aborted): " + ", ".join(sorted(set(v.blocked))))
    if v.console_errors:
        problems.append("console errors: " + " | ".join(v.console_errors))
    if v.bad_responses:
        problems.append("failed requests: " + ", ".join(v.bad_responses))

    broken = [i["src"] for i in page.evaluate(_IMAGES_JS) if not i["ok"]]
    if broken:
        problems.append("images not loaded: " + ", ".join(broken))

    # Formulas: Sphinx marks every formula with class "math"; MathJax puts an
    # <mjx-container> inside each one it typesets.
    n_math, n_typeset, n_errors = page.evaluate("""() => {
        const math = Array.from(document.querySelectorAll('.math'));
        return [math.length,
                math.filter(m => m.querySelector('mjx-container')).length,
                document.querySelectorAll('mjx-merror, [data-mjx-error]').length];
    }""")
    if n_typeset < n_math:
        problems.append(f"{n_math - n_typeset} of {n_math} formulas not typeset")
    if n_errors:
        problems.append(f"{n_errors} formulas with TeX errors")
    raw = sorted({m.group(0) for t in page.evaluate(_PROSE_TEXT_JS) for m in _RAW_TEX.finditer(t)})
    if raw:
        problems.append("raw TeX left in the text: " + ", ".join(raw[:10]))

    # Every local link points to a file that exists.
    base = urljoin(v.page.url, ".")
    missing = set()
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
        target = urlparse(urljoin(v.page.url, href))
        if target.netloc != urlparse(base).netloc or not target.path:
            continue
        file = HTML / unquote(target.path).lstrip("/")
        if not (file.is_file() or (file / "index.html").is_file()):
            missing.add(href)
    if missing:
        problems.append("links to missing files: " + ", ".join(sorted(missing)))

    notebook = (HTML / "_sources" / path).with_suffix(".ipynb").is_file()
    if page.locator(".article-header-buttons").count() != 1:
        problems.append("no header buttons (.article-header-buttons) to check the launch links in")
    header_links = page.eval_on_selector_all(".article-header-buttons a[href]", "els => els.map(e => e.href)")
    problems += _launch_link_problems(header_links, Path(path).with_suffix(".ipynb").as_posix() if notebook else None)
    if notebook:
        problems += _notebook_download(page)
    problems += _solutions_collapsed_until_clicked(page)
    return problems


# axe-core (tools/install_static.sh installs it from the npm registry; the book does
# not ship it), asked for the rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
AXE_JS = Path(os.environ.get("AXE_JS", ROOT / "_vendor" / "npm" / "node_modules" / "axe-core" / "axe.min.js"))
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# What a reader can unfold is checked too: hidden code cells (<details>) and
# exercise solutions (sphinx-togglebutton) are opened before axe-core runs, and
# their fading in (a CSS transition) is waited for: halfway, text is paler.
_UNFOLD_JS = """async () => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden > .admonition-title').forEach(t => t.click());
    await Promise.all(document.getAnimations().filter(a => a instanceof CSSTransition)
                              .map(a => a.finished.catch(() => null)));
    return document.querySelectorAll('.toggle-hidden').length;
}"""
_AXE_RUN_JS = """async tags => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
    return {version: axe.version, violations: result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html,
                                  summary: n.failureSummary || ''}))}))};
}"""


def _axe_violations(page) -> tuple[str, int, list[str]]:
    """axe-core's version, the number of rules broken and its report of the page's violations of WCAG 2 levels A and AA, as it
    is drawn (formulas typeset, the theme's light mode, 1280 pixels wide), with everything foldable
    unfolded: each rule broken, with a few of the elements that break it and what to change."""
    assert page.evaluate(_UNFOLD_JS) == 0, "a solution still folded after a click on its title"
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(_AXE_RUN_JS, AXE_TAGS)
    report = []
    for v in result["violations"]:
        report.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}\n    {v['url']}")
        for node in v["nodes"][:4]:
            html = " ".join(node["html"].split())
            report.append(f"    {node['target']}\n      {html[:160]}")
            summary = " ".join(node["summary"].split())
            if summary:
                report.append(f"      {summary[:300]}")
        if len(v["nodes"]) > 4:
            report.append(f"    ... and {len(v['nodes']) - 4} more")
    return result["version"], len(result["violations"]), report


def _check_page(visit, path: str) -> None:
    """The checks of one page, then axe-core on the same page (one load for both)."""
    v = visit(path)
    problems = _page_problems(v, path)
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core not found at {AXE_JS}: run tools/install_static.sh (`make test` does), "
                    "or set AXE_JS=/path/to/axe.min.js")
    version, n, report = _axe_violations(v.page)
    if report:
        pytest.fail(f"{path}: {n} rule{'s' * (n != 1)} of WCAG 2 A/AA violated "
                    f"(axe-core {version}):\n  " + "\n  ".join(report), pytrace=False)


# Each page once, in two classes: `pytest -n auto --dist loadscope` runs a class on one
# worker, so the English and the Chinese pages are opened side by side.
ENGLISH_PAGES = [p for p in PAGES if not p.startswith("zh/")]
CHINESE_PAGES = [p for p in PAGES if p.startswith("zh/")]


class TestEnglishPages:
    @pytest.mark.parametrize("path", ENGLISH_PAGES or ["(no built book)"])
    def test_page(self, visit, path):
        _check_page(visit, path)


class TestChinesePages:
    @pytest.mark.parametrize("path", CHINESE_PAGES or ["(no built book)"])
    def test_page(self, visit, path):
        _check_page(visit, path)


def _notebook_download(page) -> list[str]:
    """An .ipynb download button whose file is a notebook."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    problems = []
    downloads = [h for h in hrefs if h.endswith(".ipynb") and urlparse(h).hostname == "127.0.0.1"]
    if not downloads:
        problems.append("no .ipynb download button")
    else:
        text = page.evaluate("async url => { const r = await fetch(url); return r.ok ? r.text() : ''; }", downloads[0])
        try:
            if not json.loads(text)["cells"]:
                problems.append(f"the downloaded notebook has no cells: {downloads[0]}")
        except (ValueError, KeyError):
            problems.append(f"the .ipynb download is not a notebook: {downloads[0]}")
    return problems


def _launch_link_problems(hrefs: list[str], name: str | None) -> list[str]:
    """The page header's links to GitHub, Binder or Colab lead to the configured repository.

    Every page has a repository and an issues button, and a notebook page (``name``
    is its .ipynb path) Binder and Colab buttons too. With no repository
    configured there must be none: a button would lead to somebody else's.
    """
    launch = [h for h in hrefs if urlparse(h).hostname in LAUNCH_HOSTS]
    if REPO is None:
        return [f"a header button to {h} although _config.yml names no repository" for h in launch]
    allowed = (f"https://github.com/{REPO.slug}", f"https://mybinder.org/v2/gh/{REPO.slug}/{REPO.branch}?",
               f"https://colab.research.google.com/github/{REPO.slug}/blob/{REPO.branch}/")
    problems = [f"a link to {h}, not to {REPO.url}" for h in launch
                if not (h.rstrip("/") == allowed[0] or h.startswith(allowed[0] + "/") or h.startswith(allowed[1:]))]
    if name and not any(h.startswith(allowed[1]) and h.endswith(f"lab/tree/{name}") for h in launch):
        problems.append("no Binder launch button")
    if name and not any(h.startswith(allowed[2]) and h.endswith(name) for h in launch):
        problems.append("no Colab launch button")
    if not any(h.rstrip("/") == allowed[0] for h in launch):
        problems.append("no repository button")
    if not any(h.startswith(f"{allowed[0]}/issues") for h in launch):
        problems.append("no issues button")
    return problems


def _solutions_collapsed_until_clicked(page) -> list[str]:
    """Every exercise solution (sphinx-exercise) starts collapsed and opens on a click."""
    problems = []
    solutions = page.locator("div.solution")
    for i in range(solutions.count()):
        sol = solutions.nth(i)
        sid = sol.get_attribute("id")
        if "dropdown" not in (sol.get_attribute("class") or ""):
            problems.append(f"solution #{sid} is not collapsible (give it `:class: dropdown`)")
            continue
        body = sol.locator(":scope > :not(.admonition-title)").first
        if "toggle-hidden" not in (sol.get_attribute("class") or "") or body.is_visible():
            problems.append(f"solution #{sid} is visible before a click")
            continue
        sol.locator(".toggle-button").first.click()
        try:
            body.wait_for(state="visible", timeout=5_000)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError
            problems.append(f"solution #{sid} does not open on a click")
    return problems


# --------------------------------------------------------------------------- book-wide checks


def _needs_book():
    if not PAGES or _stale():
        pytest.skip(_skip_reason())


def test_no_external_resources_in_html():
    """No page or stylesheet *loads* anything from the internet (plain <a href> links are fine)."""
    _needs_book()
    loaders = re.compile(
        r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=[\"']?(?:https?:)?//"
        r"|<link\b[^>]*\bhref=[\"']?(?:https?:)?//"
        r"|@import\s+(?:url\()?[\"']?(?:https?:)?//",
        re.I,
    )
    css_url = re.compile(r"url\(\s*[\"']?(?:https?:)?//", re.I)
    offenders = []
    for p in HTML.rglob("*.html"):
        if p.relative_to(HTML).as_posix().startswith("_static/mathjax/"):
            continue
        for m in loaders.finditer(p.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{p.relative_to(HTML)}: {m.group(0)}")
    for p in HTML.rglob("*.css"):
        for m in css_url.finditer(p.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{p.relative_to(HTML)}: {m.group(0)}")
    assert not offenders, "resources loaded from the internet:\n  " + "\n  ".join(offenders[:20])
    assert (HTML / "_static" / "mathjax" / "tex-mml-chtml.js").is_file(), "MathJax is not served locally"


def test_the_book_does_not_ship_axe_core():
    """axe-core is for the tests (_check_page): no copy in the build."""
    _needs_book()
    copies = [p.relative_to(HTML).as_posix() for p in HTML.rglob("axe*.js")]
    assert not copies, f"axe-core is in the built book: {copies}"


# Each edition: its folder, how Sphinx numbers a figure's caption, and an alt text long enough to
# describe (words in English; characters in Chinese, which has no spaces).
EDITIONS = {"en": ("", r"Fig\. \d+(\.\d+)? \S", lambda alt: len(alt.split()) >= 8),
            "zh": ("zh/", r"图 \d+(\.\d+)? \S", lambda alt: len(_CJK.findall(alt)) >= 15)}
_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_image_is_a_numbered_figure_with_a_caption_and_alt_text(edition):
    """Each image of the book sits in a <figure> with a numbered caption, and its alt text says what
    it shows (a screen reader speaks it): words, not a file name; in the Chinese edition, Chinese."""
    _needs_book()
    folder, numbered, describes = EDITIONS[edition]
    import html.parser

    class Figures(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.open_figures: list[dict] = []
            self.found: list[dict] = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "figure":
                self.open_figures.append({"caption": "", "images": []})
            elif tag == "img" and "/_static/" not in (attrs.get("src") or "") and "logo" not in (attrs.get("class") or ""):
                image = {"alt": attrs.get("alt") or "", "src": attrs.get("src") or "", "in_figure": bool(self.open_figures)}
                (self.open_figures[-1]["images"] if self.open_figures else self.found).append(image)

        def handle_data(self, data):
            if self.open_figures:
                self.open_figures[-1]["caption"] += data

        def handle_endtag(self, tag):
            if tag == "figure" and self.open_figures:
                figure = self.open_figures.pop()
                for image in figure["images"]:
                    self.found.append({**image, "caption": " ".join(figure["caption"].split())})

    problems, images = [], 0
    for page in sorted(HTML.glob(f"{folder}chapters/*.html")):
        parser = Figures()
        parser.feed(page.read_text(encoding="utf-8"))
        for image in parser.found:
            images += 1
            where = f"{page.name}: {image['src'][-40:]}"
            alt = image["alt"]
            if not image["in_figure"]:
                problems.append(f"{where}: not in a numbered figure (give its cell metadata.mystnb.figure)")
            elif not re.match(numbered, image.get("caption", "")):
                problems.append(f"{where}: its figure has no numbered caption: {image.get('caption', '')[:60]!r}")
            if re.search(r"\.(png|svg|jpe?g|gif)$", alt, re.I) or "_images/" in alt or not describes(alt):
                problems.append(f"{where}: the alt text is not a description: {alt[:60]!r}")
    assert images >= 30, f"only {images} images found in the chapters"
    assert not problems, f"{len(problems)} of {images} images:\n  " + "\n  ".join(problems)


def test_api_reference_covers_every_public_name():
    """chapters/api.md documents every name in nnlib.__all__ (it is written by hand)."""
    _needs_book()
    import nnlib

    api = (HTML / "chapters" / "api.html").read_text(encoding="utf-8")
    missing = [name for name in nnlib.__all__
               if not name.startswith("_") and f'id="nnlib.{name}"' not in api]
    assert not missing, f"add these public names to chapters/api.md: {missing}"


def test_formulas_are_typeset_somewhere(visit):
    """Guard against a check that passes because nothing is marked as maths."""
    v = visit("chapters/01_neurons.html")
    assert v.page.locator(".math mjx-container").count() > 10
    assert v.page.evaluate("() => MathJax.version").startswith("3.")


def test_exercise_solutions_exist_and_are_dropdowns():
    """Solutions are checked in the browser on each page (test_page); here: are there any?"""
    _needs_book()
    found, dropdowns = {}, 0
    for p in PAGES:
        text = (HTML / p).read_text(encoding="utf-8")
        if n := text.count('<div class="solution'):
            found[p] = n
            dropdowns += text.count('<div class="solution dropdown')
    assert found, "no exercise solutions in the book"
    assert dropdowns == sum(found.values()), f"solutions that are not dropdowns, per page: {found}"


def test_search_finds_a_term(visit):
    page = visit(f"search.html?q={SEARCH_TERM}").page
    results = page.locator("#search-results ul.search li")
    # Sphinx adds the results one by one and then says so: wait for that line,
    # not just the first result, or the check below races the page.
    page.locator("#search-results", has_text="Search finished").wait_for(timeout=15_000)
    assert results.count() >= 2, f"search for {SEARCH_TERM!r} found {results.count()} pages"
    links = results.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any("03_backpropagation" in h for h in links), links
    assert any("glossary" in h for h in links), links


# --------------------------------------------------------------------------- the Chinese edition

ZH_SEARCH_TERM = "反向传播"   # backpropagation, as the glossary gives it
_SWITCH = re.compile(r'<nav class="language-switch"[^>]*><a href="([^"]+)" hreflang="([^"]+)" lang="([^"]+)">')
_LANG = re.compile(r'<html[^>]* lang="([^"]+)"')


def _switch_target(page: str) -> tuple[str, str] | None:
    text = (HTML / page).read_text(encoding="utf-8")
    found = _SWITCH.search(text)
    if not found:
        return None
    return urljoin(page, found.group(1)), found.group(2)


def test_each_page_links_to_itself_in_the_other_edition():
    """The language switch of every page leads to the same page in the other edition, and back."""
    _needs_book()
    english = [p for p in PAGES if not p.startswith("zh/")]
    chinese = [p for p in PAGES if p.startswith("zh/")]
    assert chinese, "no Chinese edition in the build (zh/): make book builds it"
    problems = []
    for page in english + chinese:
        found_lang = _LANG.search((HTML / page).read_text(encoding="utf-8"))
        if found_lang is None and page in ("index.html", "zh/index.html"):
            continue   # the redirect to the first chapter
        lang = found_lang.group(1) if found_lang else None
        want_lang = "zh-CN" if page.startswith("zh/") else "en"
        if lang != want_lang:
            problems.append(f"{page}: <html lang={lang!r}>, not {want_lang!r}")
        if page.endswith(("search.html", "genindex.html", "py-modindex.html")):
            continue   # Sphinx's own pages have no switch
        found = _switch_target(page)
        other = page[3:] if page.startswith("zh/") else "zh/" + page
        if found is None:
            problems.append(f"{page}: no language switch")
        elif found != (other, "en" if page.startswith("zh/") else "zh-CN"):
            problems.append(f"{page}: the switch leads to {found}, not to {other}")
        elif not (HTML / other).is_file():
            problems.append(f"{page}: the switch leads to {other}, which was not built")
    assert not problems, "\n  ".join(["", *problems])


def test_the_switch_opens_the_chinese_page(visit):
    page = visit("chapters/03_backpropagation.html").page
    page.locator("nav.language-switch a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/zh/chapters/03_backpropagation.html"), page.url
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "反向传播" in page.locator("h1").first.inner_text()
    page.locator("nav.language-switch a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/chapters/03_backpropagation.html") and "/zh/" not in page.url, page.url


def test_the_chinese_pages_read_in_chinese():
    """Every translated page's prose is Chinese, and no MyST markup shows as text.

    A translation that breaks its markup (emphasis next to Chinese punctuation, a
    role without its backticks) leaves ``**``, ``{term}`` or ``](`` on the page."""
    _needs_book()
    problems = []
    for page in sorted(HTML.glob("zh/chapters/*.html")):
        if page.name == "api.html":       # nnlib's docstrings: English in both editions
            continue
        text = page.read_text(encoding="utf-8")
        article = re.search(r'<article class="bd-article">(.*?)</article>', text, re.S).group(1)
        prose = re.sub(r"<(pre|code|script|style|mjx-container)\b.*?</\1>", " ", article, flags=re.S)
        prose = re.sub(r"<div class=\"(cell_output|highlight)[^\"]*\".*?</div>", " ", prose, flags=re.S)
        words = re.sub(r"<[^>]+>", " ", prose)
        chinese, latin = len(_CJK.findall(words)), len(re.findall(r"[A-Za-z]{3,}", words))
        if chinese < 500 or chinese < latin:
            problems.append(f"{page.name}: {chinese} Chinese characters, {latin} English words")
        for markup in ("**", "{term}", "{doc}", "{numref}", "]("):
            if markup in words:
                at = words.index(markup)
                problems.append(f"{page.name}: {markup!r} shows as text: ...{' '.join(words[at - 60:at + 40].split())}...")
    assert not problems, "\n  ".join(["", *problems])


def test_chinese_search_finds_a_chinese_term(visit):
    """jieba segments the Chinese edition's index, with the glossary's terms in its dictionary."""
    page = visit(f"zh/search.html?q={ZH_SEARCH_TERM}").page
    results = page.locator("#search-results ul.search li")
    page.locator("#search-results p.search-summary", has_text="搜索完成").wait_for(timeout=15_000)
    links = results.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any("03_backpropagation" in h for h in links), links
    assert any("glossary" in h for h in links), links
