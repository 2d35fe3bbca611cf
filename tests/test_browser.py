"""The lesson as a student meets it: JupyterLab in a real (headless) browser runs all of
``01_method`` and shows no error, and its figures render.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it where it can), driven by
Playwright; without either the test is skipped and says which is missing. The notebook
runs on a copy in a temporary folder, with its tables and figures written there, so the
committed notebook and report are never touched.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from comp_lib.config import PROJECT_ROOT

NOTEBOOK = "01_method.ipynb"
#: seconds for JupyterLab to start, and for the whole notebook to run in the browser
START_S, RUN_S = 90, 240


def _chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of the notebook; yields its URL."""
    shutil.copy(PROJECT_ROOT / "notebooks" / NOTEBOOK, tmp_path / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {  # figures inline, as in a student's JupyterLab (CI sets Agg)
        "COMP_LIB_REPORTS": str(tmp_path / "reports"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={tmp_path}", "--ServerApp.open_browser=False",
               "--allow-root"]  # fmt: skip
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()}")
                time.sleep(0.5)
        yield f"{url}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_run_all_of_the_method_notebook_in_jupyterlab_shows_no_error(lab, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium: install Debian's `chromium` (apt) or set CHROMIUM=/path")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(lab)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=START_S * 1000)
        select = page.get_by_role("button", name="Select", exact=True)
        try:  # a fresh JupyterLab asks once which kernel: the notebook's own, comp-study
            select.wait_for(timeout=15_000)
            select.click()
        except sync_api.TimeoutError:
            pass
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=START_S * 1000)  # fmt: skip
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        busy = ("() => [...document.querySelectorAll('.jp-InputPrompt')]"
                ".some(e => /\\*/.test(e.textContent))")  # fmt: skip
        deadline, quiet = time.monotonic() + RUN_S, 0
        while quiet < 5:  # Run All ends at the last cell or at the first error
            page.wait_for_timeout(1000)
            idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
            quiet = quiet + 1 if idle and not page.evaluate(busy) else 0
            if time.monotonic() > deadline:
                page.screenshot(path=str(tmp_path / "timeout.png"), full_page=True)
                pytest.fail("the notebook did not finish in the browser")
        images = page.locator(".jp-RenderedImage img")
        widths = images.evaluate_all("els => els.map(e => e.naturalWidth)")
        page.keyboard.press("Control+s")  # what the browser ran, outputs included
        page.wait_for_timeout(2000)
        browser.close()
    nb = nbformat.read(tmp_path / NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [f"{o.ename}: {o.evalue}" for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert all(c.execution_count for c in code), "some cells did not run"
    assert len(widths) >= 3 and all(w > 100 for w in widths), f"figures rendered: {widths}"
