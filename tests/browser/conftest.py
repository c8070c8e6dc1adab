"""Headless Chromium (Debian's, driven by Playwright) against real posterchat servers on loopback.

Every page opened here is watched: console errors, uncaught exceptions, Content-Security-Policy violations,
dialogs and requests to any origin but the page's own server fail the test that opened it.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from posterchat.web.app import create_app
from posterchat.core.chat import ChatService
from posterchat.errors import PosterchatError

from ..conftest import make_settings
from ..support.fakes import FakeProvider, FakeRouter
from ..support.servers import ROOT, ThreadServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
BROWSER_DIR = Path(__file__).resolve().parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PAGE_FILES = (ROOT / "chat_ui.html", ROOT / "posterchat" / "static")  # what a file:// page may load
TIMEOUT_MS = 15_000
EMBEDDED_TIMEOUT_MS = 90_000  # the real model on a busy machine can be slow

# Reports Content-Security-Policy violations to the test (init scripts are not subject to the page's CSP).
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__posterchatCsp && window.__posterchatCsp(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`);
});
"""


# ---- Chromium ----

def _install_chromium() -> str | None:
    """Install Debian's chromium when it is missing (as `make browser` does); the reason it is unavailable, or None."""
    if CHROMIUM.exists():
        return None
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and not shutil.which("sudo"):
        return f"{CHROMIUM} is missing and cannot be installed (not root and no sudo)"
    try:
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(sudo + command, check=True, capture_output=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{CHROMIUM} is missing and `apt-get install chromium` failed: {exc}"
    return None if CHROMIUM.exists() else f"{CHROMIUM} is missing after `apt-get install chromium`"


class Chromium:
    """One Chromium for the whole run, closed after the last browser test.

    Playwright's sync API keeps an asyncio loop marked as running on the main thread while it is started, which
    would break every later test that calls asyncio.run(); so it is stopped as soon as the browser tests are done
    (and started again should another browser test come later, as with a shuffled order).
    """

    def __init__(self):
        self._playwright = None
        self._browser = None

    def get(self):
        if self._browser is None or not self._browser.is_connected():
            from playwright.sync_api import sync_playwright

            self.close()
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:  # already gone
                pass
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None


_chromium = Chromium()


@pytest.fixture(scope="session")
def browser():
    """The session's one Chromium; every browser test is skipped, with the reason, when it cannot be had."""
    reason = _install_chromium()
    if reason:
        pytest.skip(reason)
    yield _chromium.get()
    _chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last browser test in a row (and its fixtures), stop Playwright so later tests get asyncio back."""
    try:
        return (yield)
    finally:
        if nextitem is None or BROWSER_DIR not in Path(nextitem.path).parents:
            _chromium.close()


# ---- watching pages ----

@dataclass
class Watch:
    """What one browser context did that a test may not allow."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    allowed_origins: set[str] = field(default_factory=set)
    expected_console: list[re.Pattern] = field(default_factory=list)

    def expect_console_error(self, pattern: str) -> None:
        """A console error this test provokes on purpose (e.g. the browser's own line about an HTTP 502)."""
        self.expected_console.append(re.compile(pattern))

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the page's server, its own files, data: and blob: URLs."""
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if parts.scheme == "file":
                path = Path(parts.path).resolve()
                if any(path == allowed or allowed in path.parents for allowed in PAGE_FILES):
                    continue
            elif f"{parts.scheme}://{parts.netloc}" in self.allowed_origins:
                continue
            foreign.append(url)
        return foreign

    def problems(self) -> list[str]:
        unexpected = [e for e in self.console_errors if not any(p.search(e) for p in self.expected_console)]
        return ([f"console error: {e}" for e in unexpected] + [f"page error: {e}" for e in self.page_errors]
                + [f"CSP violation: {e}" for e in self.csp_violations] + [f"dialog: {d}" for d in self.dialogs]
                + [f"request to a foreign origin: {u}" for u in self.foreign_requests()])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test whose pages logged errors, broke the CSP, opened dialogs or reached other hosts."""
    try:
        result = yield
    except BaseException:  # the test failed by itself: still show what its pages did wrong
        if problems := _problems(item):
            item.add_report_section("call", "browser", "\n".join(problems))
        raise
    if problems := _problems(item):
        pytest.fail("the page misbehaved:\n  " + "\n  ".join(problems), pytrace=False)
    return result


def _problems(item) -> list[str]:
    return [problem for watch in getattr(item, "_browser_watches", []) for problem in watch.problems()]


class ChatPage:
    """A page of the chat UI and the few things tests do with it."""

    def __init__(self, page, watch: Watch):
        self.page = page
        self.watch = watch

    def open(self, server_url: str, *, file: bool = False) -> ChatPage:
        """Open the page from the server (GET /) or from disk with ?api=, and wait until the models are loaded."""
        self.watch.allowed_origins.add(server_url)
        url = f"{(ROOT / 'chat_ui.html').as_uri()}?api={server_url}" if file else f"{server_url}/"
        self.page.goto(url)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        self.page.wait_for_function("() => document.querySelector('#model').value !== ''")

    @property
    def input(self):
        return self.page.locator("#message-input")

    @property
    def answers(self):
        return self.page.locator("#messages .message.assistant")

    @property
    def last_answer(self):
        return self.answers.last

    def send(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def wait_answer(self, state: str = "done", index: int = -1):
        """The answer (by position) once its data-state is `state`."""
        answer = self.answers.nth(index) if index >= 0 else self.answers.last
        answer.and_(self.page.locator(f"[data-state='{state}']")).wait_for(timeout=EMBEDDED_TIMEOUT_MS)
        return answer

    def chat(self, text: str) -> str:
        """Send a message and return the finished answer's text."""
        count = self.answers.count()
        self.send(text)
        self.page.wait_for_function(
            "n => document.querySelectorAll('#messages .message.assistant').length > n", arg=count,
            timeout=EMBEDDED_TIMEOUT_MS)
        return self.wait_answer("done").locator(".message-body").inner_text()

    def conversation_id(self) -> str | None:
        return self.page.evaluate("localStorage.getItem('posterchat.conversation')")


@pytest.fixture
def new_page(browser, request):
    """Open a fresh browser context and page: `new_page(viewport=..., color_scheme=...)` → ChatPage."""
    contexts = []
    request.node._browser_watches = []

    def open_page(**options) -> ChatPage:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        live = browser if browser.is_connected() else _chromium.get()  # stopped after an earlier run of tests
        context = live.new_context(accept_downloads=True, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        watch = Watch()
        request.node._browser_watches.append(watch)
        context.expose_binding("__posterchatCsp", lambda source, text: watch.csp_violations.append(text))
        context.add_init_script(CSP_REPORTER)
        context.on("request", lambda req: watch.requests.append(req.url))
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and watch.console_errors.append(
            f"{message.text} ({message.location.get('url', '')})"))
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on("dialog", lambda dialog: (watch.dialogs.append(f"{dialog.type}: {dialog.message}"), dialog.dismiss()))
        return ChatPage(page, watch)

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def chat(new_page) -> ChatPage:
    """A watched 1280×800 light page in a new context (not opened yet: `chat.open(server.url)`)."""
    return new_page()


@pytest.fixture
def page(chat):
    """The Playwright page of `chat`: a new context per test, watched like every page here."""
    return chat.page


# ---- servers ----

class Scripted(FakeProvider):
    """A fake model whose answers follow a script, one per request (the last one repeats)."""

    def __init__(self, *answers, **kwargs):
        super().__init__(answers[0], **kwargs)
        self.answers = [list(a) for a in answers]
        self.calls = 0

    async def stream(self, request, *, timeout):
        self.chunks = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        async for chunk in super().stream(request, timeout=timeout):
            yield chunk


class Failing(FakeProvider):
    """A fake model that raises `error` before answering while `failing` is set."""

    def __init__(self, error: PosterchatError, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error = error
        self.failing = True

    async def stream(self, request, *, timeout):
        if self.failing:
            self.requests.append(request)
            raise self.error
        async for chunk in super().stream(request, timeout=timeout):
            yield chunk


@pytest.fixture
def start_server(tmp_path, serve, request):
    """Start a real posterchat server in a thread on a random loopback port.

    `start_server(provider)` routes every model to a fake provider; `start_server()` uses the real embedded model
    (loaded once per run). Keyword arguments are settings (e.g. max_tokens=24).
    """
    counter = itertools.count()

    def start(provider=None, **overrides) -> ThreadServer:
        overrides.setdefault("max_retries", 0)
        settings = make_settings(tmp_path / f"server{next(counter)}", **overrides)
        if provider is None:
            service = ChatService(settings, request.getfixturevalue("embedded_router"))
        else:
            service = ChatService(settings, FakeRouter(settings, provider))
        return serve(create_app(settings, service=service))

    return start
