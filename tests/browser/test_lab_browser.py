"""The playgrounds in a real browser: JupyterLab on localhost, headless Chromium driven by Playwright.

The test starts its own JupyterLab (a free port on 127.0.0.1, a token it makes up, a temporary
copy of ``notebooks/17_playgrounds.ipynb`` in quick mode), runs all cells from the Run menu,
checks that every widget rendered (no "Error displaying widget", an image per playground),
moves the optimizer's learning-rate slider with the keyboard, checks that the plot changed, presses
the search explorer's Run button and waits for the run to finish in the kernel's background thread,
and saves screenshots under ``artifacts/`` (the notebook, the optimizer after the slider moved,
the explorer after its run, the NAS playground). The server is stopped in the fixture's teardown.

It needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` Python package; it
is skipped, saying which is missing, without them (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "17_playgrounds.ipynb"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
N_PLAYGROUNDS = 11  # image widgets: one per playground
RUN_ALL_SECONDS = 600  # about 30 s on an idle 2-core machine; generous for a shared one

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing (pip install playwright)")


def _wait_for_all_cells(page, timeout: float) -> None:
    """Poll the input prompts until each shows ``[n]:``; fail at once if a cell stopped the run."""
    deadline = time.monotonic() + timeout
    while True:
        prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return
        if prompts and "[*]:" not in prompts and any(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            page.screenshot(path=str(ARTIFACTS / "browser_failed.png"), full_page=True)
            raise AssertionError(f"the run stopped before the end (a cell failed?): prompts {prompts}")
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / "browser_failed.png"), full_page=True)
            raise AssertionError(f"cells still running after {timeout} s: prompts {prompts}")
        time.sleep(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebook; yields its base URL and token; stops it."""
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    for cell in notebook.cells:  # start from a blank page: the stored outputs are not under test
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, root / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    # every cell stays in the page (no virtual scrolling), and no news pop-up covers the notebook
    settings = root / ".config" / "lab" / "user-settings" / "@jupyterlab"
    for extension, values in (("notebook-extension/tracker", {"windowingMode": "none"}),
                              ("apputils-extension/notification", {"fetchNews": "false"})):
        path = settings / f"{extension}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {**os.environ, "AMSEARCH_QUICK": "1", "JUPYTER_CONFIG_DIR": str(root / ".config"),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces")}
    command = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--allow-root",
               "--ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]  # nothing is fetched from outside
    log = open(root / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


def test_playgrounds_render_and_a_slider_redraws_the_plot(lab):
    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            # on a slow start JupyterLab may ask which kernel to use: take the notebook's own (python3)
            dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
            try:
                dialog.wait_for(timeout=5_000)
                dialog.get_by_role("button", name="Select").click()
                dialog.wait_for(state="detached", timeout=30_000)
            except sync_api.TimeoutError:
                pass  # no dialog: the kernel started by itself
            # 1. Run > Run All Cells, then wait until every code cell has an execution count
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            _wait_for_all_cells(page, timeout=RUN_ALL_SECONDS)
            # 2. every playground rendered, none failed
            page.wait_for_function(f"document.querySelectorAll('.widget-image img, img.widget-image').length >= {N_PLAYGROUNDS}",
                                   timeout=60_000)
            text = page.locator(".jp-Notebook").inner_text()
            assert "Error displaying widget" not in text
            assert "Traceback" not in text and "AssertionError" not in text
            nas = page.locator(".amsearch-nas")  # the newest playground: its layer table and plot are there
            assert nas.locator("table").count() == 1 and nas.locator("img").count() == 1
            nas.scroll_into_view_if_needed()
            nas.screenshot(path=str(ARTIFACTS / "browser_nas.png"))
            optimizer = page.locator(".amsearch-optimizer")
            optimizer.scroll_into_view_if_needed()
            slider = optimizer.locator(".widget-slider").first
            assert slider.is_visible()
            image = optimizer.locator("img").first
            before_src, before_readout = image.get_attribute("src"), slider.locator(".widget-readout").inner_text()
            page.screenshot(path=str(ARTIFACTS / "browser_playgrounds.png"))
            # 3. move the learning-rate slider with the keyboard; the plot must be redrawn
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(4):
                handle.press("ArrowRight")
            page.wait_for_function("([el, src]) => el.getAttribute('src') !== src",
                                   arg=[image.element_handle(), before_src], timeout=60_000)
            assert slider.locator(".widget-readout").inner_text() != before_readout
            optimizer.screenshot(path=str(ARTIFACTS / "browser_optimizer_after_slider.png"))
            # 4. the explorer's Run button, clicked: the search runs in a thread of the real kernel and
            #    its plot and status come back to the page while the kernel stays free
            explorer = page.locator(".amsearch-explorer")
            explorer.scroll_into_view_if_needed()
            plot = explorer.locator("img").first
            before_src = plot.get_attribute("src")
            explorer.locator("button[title='Run']").click()
            page.wait_for_function("([el, src]) => el.getAttribute('src') !== src",
                                   arg=[plot.element_handle(), before_src], timeout=60_000)
            explorer.get_by_text(re.compile(r"finished: \d+ trials")).wait_for(timeout=120_000)
            assert explorer.locator("button[title='Run']").is_enabled()
            explorer.screenshot(path=str(ARTIFACTS / "browser_explorer_after_run.png"))
        finally:
            browser.close()
