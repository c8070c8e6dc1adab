"""The API docs render from this server's own files, offline, under their Content-Security-Policy."""

from __future__ import annotations

from .conftest import Scripted


def test_swagger_ui_renders_without_reaching_another_host(chat, start_server):
    """Every request stays on the server and nothing breaks the page's CSP (the page watch fails the test)."""
    server = start_server(Scripted(["Fine."]))
    chat.watch.allowed_origins.add(server.url)
    chat.page.goto(f"{server.url}/docs")
    chat.page.locator(".swagger-ui .opblock-summary-path", has_text="/chat").first.wait_for()
    chat.page.locator(".swagger-ui .opblock-summary-path", has_text="/chat").first.click()
    chat.page.locator(".swagger-ui .opblock-body").first.wait_for()
    assert chat.watch.foreign_requests() == [] and chat.watch.csp_violations == []
