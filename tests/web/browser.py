"""One headless Chromium for a test module (Python playwright driving Debian's /usr/bin/chromium).

- :func:`chromium_executable` finds Chromium, installing Debian's package with apt-get when it is missing
  (Playwright's own browser download needs hosts that are not reachable here); the tests are skipped,
  with the reason, only when there is no Chromium and apt-get can not install one.
- :class:`Browser` counts every JavaScript error (uncaught exceptions, unhandled rejections,
  ``console.error``) of every page it opens, and refuses (and records) every request to a host other than
  127.0.0.1: the pages must work on a network with no internet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pytest

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_executable() -> str:
    for path in (os.environ.get("CIVIC_CHROMIUM", ""), *CANDIDATES):
        if path and Path(path).is_file():
            return path
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.skip("no Chromium at /usr/bin/chromium and no apt-get to install it (set CIVIC_CHROMIUM=PATH)")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run = subprocess.run(
        [*sudo, apt, "install", "-y", "--no-install-recommends", "chromium"], env=env, capture_output=True, text=True
    )
    if run.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run([*sudo, apt, "update"], env=env, capture_output=True, text=True)
        run = subprocess.run(
            [*sudo, apt, "install", "-y", "--no-install-recommends", "chromium"],
            env=env,
            capture_output=True,
            text=True,
        )
    for path in CANDIDATES:
        if Path(path).is_file():
            return path
    pytest.fail(f"apt-get install chromium failed: {run.stderr[-2000:]}")


class Browser:
    def __init__(self, executable: str, shots: Path) -> None:
        from playwright.sync_api import sync_playwright

        self.shots = shots
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.requested: list[str] = []
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        self.context = self._browser.new_context(viewport={"width": 414, "height": 896}, accept_downloads=True)
        self.context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            self.requested.append(url)
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def page(self, url: str) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"{page.url}: console {msg.text}"))
        page.goto(url)
        return page

    def shot(self, page: Any, name: str) -> None:
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        errors, outside = list(self.errors), list(self.outside)
        self.errors.clear()
        self.outside.clear()
        assert errors == [], f"JavaScript errors: {errors}"
        assert outside == [], f"requests leaving 127.0.0.1: {outside}"

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.context.close()
        self._browser.close()
        self._pw.stop()
