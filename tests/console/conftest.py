"""A real ``gunicorn`` (2 workers) and Debian's chromium, driven by Playwright.

One server and one browser per module keep the browser suite well under two minutes; each
test gets a fresh browser context (no shared cookies) and a page that records console
errors and failed requests, and leaves a screenshot in its tmp_path when it fails.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    Frame,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

from engine.ledger.db import open_database
from engine.ledger.keys import create_key
from tests.served import ROOT, gunicorn

CHROMIUM = "/usr/bin/chromium"
expect.set_options(timeout=10_000)  # patient on a loaded CI machine; a pass is still fast
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Server:
    base: str
    database: str
    keys: dict[str, str]
    rules: Path  # the server's own copy of rules/, which a test may break and mend


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("console-server")
    database = f"sqlite:///{folder / 'console.sqlite'}"
    engine = open_database(database)
    keys = {role: create_key(engine, role) for role in ("pos", "marketer", "reviewer", "admin")}
    engine.dispose()
    log_path = folder / "gunicorn.log"
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("scenarios"))
    with gunicorn(database, log_path, rules=rules, clean_exit=False) as served:
        yield Server(served.base, database, keys, rules)
    log_text = log_path.read_text(errors="replace")
    for key in keys.values():  # keys never reach a log, not even the access log
        assert key not in log_text


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which("chromium") and not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What went wrong in the page: console errors, failed requests, 4xx/5xx answers."""

    errors: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # requests that failed outright
    cancelled: list[tuple[str, int]] = field(default_factory=list)  # (request, page it was on)
    refused: list[str] = field(default_factory=list)
    ok_writes: list[str] = field(default_factory=list)
    navigations: int = 0  # of the main frame, started or committed
    started: dict[Request, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        """Failed requests, but for loads the browser cancelled (``net::ERR_ABORTED``) because
        the page that made them was left: a navigation began after they did. Decided when
        asked, since the cancellation may be reported before the navigation is."""
        return self.broken + [text for text, page in self.cancelled if page >= self.navigations]

    def navigated(self, frame: Frame) -> None:
        if frame.parent_frame is None:
            self.navigations += 1

    def request(self, request: Request) -> None:
        self.started[request] = self.navigations
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.navigations += 1  # leaving the page starts here, before the next commits

    def request_failed(self, request: Request) -> None:
        text = f"{request.method} {request.url}: {request.failure}"
        if request.failure == "net::ERR_ABORTED":
            self.cancelled.append((text, self.started.get(request, self.navigations)))
        else:
            self.broken.append(text)

    def response(self, response: Response) -> None:
        request = response.request
        if response.status >= 400:
            self.refused.append(f"{response.status} {request.method} {response.url}")
        elif request.method != "GET" and "/v1/" in response.url:
            self.ok_writes.append(f"{response.status} {request.method} {response.url}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request, tmp_path) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = Watch()
    page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.on("framenavigated", watch.navigated)
    page.on("request", watch.request)
    page.on("requestfailed", watch.request_failed)
    page.on("response", watch.response)
    yield page, watch
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'failure.png'}")
    context.close()


def sign_in(page: Page, server: Server, role: str) -> None:
    page.goto(f"{server.base}/")
    page.get_by_label("API key").fill(server.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/programmes$"))
    page.wait_for_load_state("networkidle")  # the cards' calls finish before a test moves on
