"""The chapters opened in a real JupyterLab: they read as the book does.

`make lab` opens the notebooks in JupyterLab, where jupyterlab-myst (the `lab`
group of pyproject.toml) renders the MyST of the markdown cells: glossary terms,
cross-references and the exercise directives. This test starts JupyterLab from
the test's environment on 127.0.0.1 at a free port, with configuration, runtime
data, settings and workspaces in a temporary folder (the labextensions installed
in the environment are still found), opens every chapter in Debian's Chromium
driven by Playwright (the launch settings of tools/book_browser.py; every request
to another host is aborted) and checks that

  * JupyterLab loads jupyterlab-myst and renders every markdown cell with it;
  * no rendered markdown cell shows raw MyST: a role (`{term}`, `{numref}`,
    `{doc}`...), a directive fence (```` ```{exercise} ````), or a directive
    option (`:label:`, `:class:`);
  * every exercise statement is rendered as an exercise and every solution's
    opening as the solution's header;
  * the cells the book folds are folded (their source or output replaced by
    JupyterLab's placeholder), and no other cell is.

Each chapter's kernel is shut down once the chapter is checked, and the server at
the end. Without Chromium (`make browser` installs it) or Playwright the test is
skipped, as tests/test_browser.py is.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from helpers import ROOT
from tools import book_browser as bb

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

# Settings for the test's JupyterLab: every cell drawn at once (by default only
# those near the viewport are), no autosave (the test never writes a chapter), no
# news or update check (the network is closed), each kernel shut down with its tab.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "kernelShutdown": True},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

# Raw MyST, as it reads when markdown is rendered without MyST: a role's name in
# braces (then its target as a code span), a directive's fence, a directive's option.
RAW_MYST = re.compile(r"\{[a-z][a-z0-9:_-]*\}|```|^\s*:[a-z-]+:", re.MULTILINE)

# For each cell of the notebook, in order: its kind, whether jupyterlab-myst drew
# it (markdown), the visible text of what it drew, math and inline code left out
# (KaTeX keeps a copy of the formula as text; code may hold braces), and whether the source and output placeholders
# that stand for a folded input or output are shown.
CELLS_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')).map(cell => {
    const myst = cell.querySelector('.jp-Cell-inputWrapper .myst');
    let text = null;
    if (myst) {
        const copy = myst.cloneNode(true);
        copy.querySelectorAll('.katex, script, style, :not(pre) > code').forEach(e => e.remove());
        document.body.appendChild(copy);
        copy.style.position = 'absolute'; copy.style.left = '-99999px'; copy.style.width = '1000px';
        text = copy.innerText;
        copy.remove();
    }
    const shown = sel => Array.from(cell.querySelectorAll(sel)).some(e => e.checkVisibility());
    return {markdown: cell.classList.contains('jp-MarkdownCell'), myst: !!myst, text: text,
            sourceFolded: shown('.jp-InputPlaceholder'), outputFolded: shown('.jp-OutputPlaceholder')};
})"""

# The notebook is drawn: every cell is in the page, every markdown cell rendered
# by jupyterlab-myst, and the fonts (KaTeX's among them) are loaded.
READY_JS = """(count) => {
    const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell');
    const md = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-MarkdownCell');
    const drawn = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-MarkdownCell .jp-Cell-inputWrapper .myst');
    return cells.length === count && md.length === drawn.length && document.fonts.status === 'loaded';
}"""


def _skip_reason() -> str | None:
    if not bb.CHROMIUM.exists():
        return (f"Chromium not found at {bb.CHROMIUM}: run `make browser` to install Debian's chromium "
                "package (or set CHROMIUM=/path/to/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is missing: pip install -r requirements.txt"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, method: str = "GET"):
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving chapters/, with a temporary configuration; yields its base URL."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("jupyterlab")
    for name, values in SETTINGS.items():
        path = home / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    log = (home / "server.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={ROOT / 'chapters'}", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _request(base + "api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text(encoding="utf-8"))
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    """JupyterLab in Chromium, with no document open; every non-local request is aborted."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lab-chromium-") as profile, sync_playwright() as pw:
        context, blocked = bb.open_context(pw, profile, lab, width=1280)
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.messages = []  # type: ignore[attr-defined]
        page.on("console", lambda m: page.messages.append(m.text))
        page.on("pageerror", lambda e: page.messages.append(f"uncaught: {e}"))
        page.goto(f"{lab}lab?reset")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", polling=200)
        page.evaluate("() => window.jupyterapp.restored")
        yield page
        context.close()
        assert not blocked, f"JupyterLab requested other hosts: {blocked}"


def test_jupyterlab_myst_is_installed():
    """`make book` installs jupyterlab-myst into the environment, with its labextension."""
    import jupyterlab_myst  # noqa: F401

    labextension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-myst" / "package.json"
    assert labextension.is_file(), f"the jupyterlab-myst labextension is missing: {labextension}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_reads_in_jupyterlab(lab, page, path):
    nb = nbformat.read(path, as_version=4)
    assert any("jupyterlab-myst is activated" in m for m in page.messages), \
        f"JupyterLab did not activate jupyterlab-myst; its console said: {page.messages}"
    page.evaluate("(path) => window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'})",
                  path.name)
    try:
        page.wait_for_function(READY_JS, arg=len(nb.cells), polling=200)
        cells = page.evaluate(CELLS_JS)
        assert len(cells) == len(nb.cells)
        problems = []
        for number, (cell, drawn) in enumerate(zip(nb.cells, cells), start=1):
            where = f"cell {number} ({cell.cell_type})"
            if cell.cell_type == "markdown":
                if not drawn["myst"]:
                    problems.append(f"{where}: not rendered by jupyterlab-myst")
                    continue
                raw = RAW_MYST.findall(drawn["text"])
                if raw:
                    problems.append(f"{where} shows raw MyST {raw}: {drawn['text'][:200]!r}")
                source = cell.source.lstrip()
                if source.startswith("```{exercise}") and not drawn["text"].lstrip().startswith("Exercise"):
                    problems.append(f"{where}: the exercise is not rendered as one: {drawn['text'][:100]!r}")
                if source.startswith("```{solution-start}") and "Solution to" not in drawn["text"]:
                    problems.append(f"{where}: the solution's header is not rendered: {drawn['text'][:100]!r}")
            folds = cell.metadata.get("jupyter", {})
            for key, shown in (("source_hidden", "sourceFolded"), ("outputs_hidden", "outputFolded")):
                if bool(folds.get(key)) != drawn[shown]:
                    state = "folded" if drawn[shown] else "not folded"
                    problems.append(f"{where}: {key}={bool(folds.get(key))} in the notebook, but {state} in JupyterLab")
        assert not problems, f"{path.name} in JupyterLab:\n" + "\n".join(problems)
    finally:
        # close the chapter without saving it, and shut its kernel down
        page.evaluate("() => { for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) w.dispose(); }")
        for session in _request(f"{lab}api/sessions"):
            try:
                _request(f"{lab}api/sessions/{session['id']}", method="DELETE")
            except urllib.error.HTTPError as exc:
                if exc.code != 404:   # 404: closing the chapter ended its session first
                    raise
