"""The built book in a real browser: what tests/test_browser.py and tools/screenshots.py share.

The book is served on 127.0.0.1 (``serve``) and opened in Debian's Chromium
(/usr/bin/chromium, or CHROMIUM=...) driven by Playwright, which never downloads
a browser (``open_context``). Every request to another host is aborted and
recorded: the book must work offline.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# The launch flags that work on a machine with a closed network: without the
# background-networking flags Chromium keeps trying to reach Google's servers.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Folders of the build that hold no pages of the book.
SKIP = ("_static/", "_sources/", "_images/", "_downloads/")

# Wait until the page is drawn: MathJax (loaded with `defer`) has typeset it and
# the fonts are ready. With the argument true, images are also loaded first
# (lazy ones made eager; each waited for 10 s at most).
WAIT_FOR_RENDER_JS = """async (images) => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    if (images) {
        document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });
        await Promise.all(Array.from(document.images).map(i => i.complete ? null :
            new Promise(r => { i.onload = i.onerror = r; setTimeout(r, 10000); })));
    }
    await document.fonts.ready;
}"""


def book_pages(html: Path) -> list[str]:
    """Every HTML page of the book built in ``html``, as paths relative to it ([] if there is no build)."""
    if not (html / "index.html").is_file():
        return []
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not _assets(p.relative_to(html).as_posix())
    )


def _assets(path: str) -> bool:
    """Is ``path`` in a folder of assets, in either edition (the Chinese one is under zh/)?"""
    return path.startswith(SKIP) or path.startswith(tuple("zh/" + s for s in SKIP))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(html: Path) -> Iterator[str]:
    """Serve the folder ``html`` on 127.0.0.1 at a free port, in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def open_context(playwright, profile: str, base: str, width: int = 1280):
    """A Chromium context with the profile folder ``profile`` and a window ``width`` pixels wide.

    Returns (context, blocked): every request to another host than ``base``'s is
    aborted and its URL appended to the list ``blocked``.
    """
    local = urlparse(base).netloc
    blocked: list[str] = []

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("data", "blob", "about") or url.netloc == local:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport={"width": width, "height": 900}, service_workers="block",
    )
    context.route("**/*", route)
    return context, blocked
