"""Write a full-page screenshot of every page of the built book (`make screenshots`).

    python tools/screenshots.py [--html _build/html] [--out _build/screenshots] [--width 1280]

The book is served on 127.0.0.1 and opened in Debian's Chromium (/usr/bin/chromium,
or CHROMIUM=...) driven by Playwright, with the same settings as
tests/test_browser.py (both use tools/book_browser.py); nothing is fetched from
the internet. One PNG per page,
named after the page's path (chapters/01_neurons.html -> chapters__01_neurons.png),
so a person can look over the whole book at once. Build the book first (`make book`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as `python tools/screenshots.py`: the repository's folders are packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.book_browser import CHROMIUM, WAIT_FOR_RENDER_JS, book_pages, open_context, serve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")))
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels")
    args = parser.parse_args(argv)

    html = args.html.resolve()
    if not (html / "index.html").is_file():
        print(f"No built book in {html}: run `make book` first.", file=sys.stderr)
        return 1
    if not CHROMIUM.exists():
        print(f"Chromium not found at {CHROMIUM}: run `make browser` (Debian's chromium package).", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    # Every page but redirects (index.html only forwards to the first chapter page).
    pages = [p for p in book_pages(html)
             if 'http-equiv="refresh"' not in (html / p).read_text(encoding="utf-8", errors="replace").lower()]
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    with serve(html) as base:
        with tempfile.TemporaryDirectory(prefix="book-chromium-") as profile, sync_playwright() as pw:
            context, blocked = open_context(pw, profile, base, args.width)
            page = context.new_page()
            for path in pages:
                page.goto(base + path, wait_until="load")
                page.evaluate(WAIT_FOR_RENDER_JS, True)   # MathJax, images and fonts
                # Lay the page out in a window as tall as the page itself, so that
                # sticky sidebars are drawn as a reader sees them, not clipped.
                height = page.evaluate("() => document.documentElement.scrollHeight")
                page.set_viewport_size({"width": args.width, "height": height})
                page.wait_for_timeout(200)
                target = args.out / (path[: -len(".html")].replace("/", "__") + ".png")
                page.screenshot(path=str(target), full_page=True)
                page.set_viewport_size({"width": args.width, "height": 900})
                print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
            context.close()
    print(f"{len(pages)} screenshots in {args.out} ({time.perf_counter() - start:.0f} s)")
    if blocked:
        print("Requests to other hosts were blocked (the book should not make any):", file=sys.stderr)
        for url in sorted(set(blocked)):
            print("  " + url, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
