"""The chat page in real headless Chromium, through real posterchat servers on random loopback ports.

The real embedded model answers where it is the point (streaming, Stop, the page opened from disk); scripted fake
models answer everywhere else, so the suite stays fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from posterchat.config import EMBEDDED_MODEL_ID
from posterchat.errors import UpstreamError

from ..conftest import wait_for
from ..support.engine import busy, decoded
from .conftest import EMBEDDED_TIMEOUT_MS, SCREENSHOTS, ChatPage, Failing, Scripted

pytestmark = pytest.mark.browser

LAST_ANSWER_JS = "[...document.querySelectorAll('#messages .message.assistant')].pop()"

# Records every distinct (data-state, text, Stop shown) of the last assistant message, as the DOM changes.
RECORD_ANSWER = """() => {
  window.__answerFrames = [];
  new MutationObserver(() => {
    const answer = [...document.querySelectorAll('#messages .message.assistant')].pop();
    if (!answer) return;
    const frame = {state: answer.dataset.state || '', text: answer.querySelector('.message-body').textContent,
                   stop: !document.querySelector('#stop').hidden, send: !document.querySelector('#send').hidden};
    const last = window.__answerFrames[window.__answerFrames.length - 1];
    if (!last || Object.keys(frame).some((key) => last[key] !== frame[key])) window.__answerFrames.push(frame);
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def stored(server, conversation_id: str) -> httpx.Response:
    return httpx.get(f"{server.url}/conversations/{conversation_id}", timeout=10)


def stored_turns(server, conversation_id: str) -> list[tuple[str, str]]:
    response = stored(server, conversation_id)
    assert response.status_code == 200, response.text
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


def shown_turns(chat: ChatPage) -> list[tuple[str, str]]:
    return [(role, text) for role, text in chat.page.eval_on_selector_all(
        "#messages .message",
        "nodes => nodes.map(n => [n.classList.contains('user') ? 'user' : 'assistant',"
        " n.querySelector('.message-body').innerText])")]


def set_temperature_to_zero(chat: ChatPage) -> None:
    chat.page.focus("#temperature")
    chat.page.keyboard.press("Home")
    assert chat.page.input_value("#temperature") == "0"
    assert chat.page.inner_text("#temperature-value") == "0.0"


def record_chat_bodies(chat: ChatPage) -> list[dict]:
    bodies: list[dict] = []
    chat.page.on("request", lambda r: r.method == "POST" and urlsplit(r.url).path == "/chat"
                 and bodies.append(json.loads(r.post_data)))
    return bodies


# ---- the real embedded model ----

def test_answer_streams_in_token_by_token_and_completes(chat, start_server):
    """A message sent from the page streams the real model's answer into the page, visibly growing, then done.

    An answer with measured or sourced facts to stand by grows a sentence (or ~80 characters) at a time, each
    checked by the guard before it shows; that takes a few dozen tokens."""
    server = start_server(max_tokens=48)
    chat.open(server.url)
    set_temperature_to_zero(chat)
    bodies = record_chat_bodies(chat)
    chat.page.evaluate(RECORD_ANSWER)

    chat.send("Suggest one colour for a jazz poster.")
    answer = chat.wait_answer("done")

    frames = chat.page.evaluate("window.__answerFrames")
    streaming = [f["text"] for f in frames if f["state"] == "streaming" and f["text"].strip()]
    assert all(f["stop"] and not f["send"] for f in frames if f["state"] == "streaming"), "Stop replaces Send"
    assert len(streaming) >= 2, f"the answer did not visibly grow while streaming: {frames}"
    assert all(len(a) <= len(b) for a, b in zip(streaming, streaming[1:])), streaming
    assert len(streaming[-1]) > len(streaming[0])
    assert frames[-1]["state"] == "done"
    final = answer.locator(".message-body").inner_text().strip()
    assert final and len(final) >= len(streaming[-1].strip())
    assert chat.page.is_visible("#send") and chat.page.is_hidden("#stop")

    assert bodies == [{"message": "Suggest one colour for a jazz poster.", "temperature": 0,
                       "model": EMBEDDED_MODEL_ID, "stream": True}]
    conversation_id = chat.conversation_id()
    turns = stored_turns(server, conversation_id)
    assert [role for role, _ in turns] == ["user", "assistant"]
    assert turns[0][1] == "Suggest one colour for a jazz poster." and turns[1][1].strip()


def test_stop_mid_answer_stops_the_page_and_the_model(chat, start_server, embedded_router):
    """Stop freezes the answer (data-state=stopped) and the server stops generating tokens soon after."""
    model = embedded_router.local(EMBEDDED_MODEL_ID)
    server = start_server(max_tokens=300)
    chat.open(server.url)
    set_temperature_to_zero(chat)
    before = decoded(model)

    chat.send("Write a long, detailed essay about choosing typefaces for concert posters.")
    chat.page.wait_for_function(
        f"() => {{ const a = {LAST_ANSWER_JS}; return a && a.dataset.state === 'streaming'"
        " && a.querySelector('.message-body').textContent.trim().length >= 8; }", timeout=EMBEDDED_TIMEOUT_MS)
    assert busy(model), "the model should be generating while the answer streams"
    chat.page.click("#stop")

    answer = chat.wait_answer("stopped")
    assert "Stopped" in answer.locator(".message-status").inner_text()
    assert chat.page.is_visible("#send") and chat.page.is_hidden("#stop")
    shown = answer.locator(".message-body").inner_text()

    assert wait_for(lambda: not busy(model), 10), "the model kept generating after Stop"
    count = decoded(model)
    time.sleep(0.6)
    assert decoded(model) == count, "tokens were still being generated after Stop"
    assert 0 < count - before < 300, "the answer ran to max_tokens instead of stopping"
    assert answer.locator(".message-body").inner_text() == shown, "the answer kept growing after Stop"
    assert httpx.get(f"{server.url}/conversations", timeout=10).json()["data"] == []  # a stopped answer is not stored


def test_page_opened_from_disk_chats_with_a_running_server(chat, start_server):
    """chat_ui.html opened as a file:// URL with ?api= talks to the server (CORS origin null), under its CSP.

    The server lets a null origin chat only with the history the page keeps (the spec's conversation_history), so
    the page keeps it, stores nothing on the server and shows no stored conversations.
    """
    server = start_server(max_tokens=12)
    chat.open(server.url, file=True)
    assert chat.page.url.startswith("file://")
    set_temperature_to_zero(chat)
    posts = []
    chat.page.on("request", lambda r: r.method == "POST" and posts.append(r))

    answer = chat.chat("Hello! I'm working on a poster design.")
    assert [r.all_headers().get("origin") for r in posts] == ["null"]  # a file page's origin
    assert answer.strip()
    second = chat.chat("What about the colour scheme?")
    assert second.strip()
    bodies = [json.loads(r.post_data) for r in posts]
    assert [b.get("conversation_id") for b in bodies] == [None, None]
    assert bodies[0]["conversation_history"] == []
    kept = bodies[1]["conversation_history"]
    assert kept[0] == {"role": "user", "content": "Hello! I'm working on a poster design."}
    assert kept[1]["role"] == "assistant" and kept[1]["content"].strip() and len(kept) == 2
    assert httpx.get(f"{server.url}/conversations", timeout=10).json()["data"] == []  # nothing stored
    assert chat.page.is_hidden("#conversation-list") and chat.page.is_visible("#conversations-empty")

    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in chat.watch.requests
               if urlsplit(u).scheme != "file"}
    assert origins == {server.url}
    files = {Path(urlsplit(u).path).name for u in chat.watch.requests if u.startswith("file:")}
    assert {"chat_ui.html", "app.css", "app.js", "api.js", "markdown.js"} <= files
    assert chat.watch.foreign_requests() == []


# ---- scripted fake models ----

def test_conversations_survive_reload_and_new_chat_reset_reopen_delete_work(chat, start_server):
    """Reload restores the stored conversation; New chat, Reset, reopening and deleting act on the server too."""
    provider = Scripted(["First ", "answer"], ["Second ", "answer"], ["Third ", "answer"])
    server = start_server(provider)
    chat.open(server.url)

    assert chat.chat("Hello poster") == "First answer"
    first = chat.conversation_id()
    assert first and stored_turns(server, first) == [("user", "Hello poster"), ("assistant", "First answer")]
    chat.page.locator(f"#conversation-list [data-conversation-id='{first}']").wait_for()

    # Reload keeps the conversation.
    chat.page.reload()
    chat.wait_ready()
    chat.wait_answer("done")
    assert shown_turns(chat) == [("user", "Hello poster"), ("assistant", "First answer")]
    assert chat.page.is_hidden("#empty-state")

    # New chat: an empty thread; the old conversation stays in the list and on the server.
    chat.page.click("#new-chat")
    assert shown_turns(chat) == []
    assert chat.page.is_visible("#empty-state")
    assert chat.page.inner_text("#conversation-title") == "New chat"
    assert chat.conversation_id() is None
    assert chat.page.locator("#conversation-list .conversation").count() == 1
    assert chat.chat("Another question") == "Second answer"
    second = chat.conversation_id()
    assert second and second != first
    chat.page.locator(f"#conversation-list [data-conversation-id='{first}']").wait_for()
    chat.page.wait_for_function("() => document.querySelectorAll('#conversation-list .conversation').length === 2")

    # Reopening a stored conversation from the list shows its messages.
    chat.page.click(f"#conversation-list [data-conversation-id='{first}'] .open-conversation")
    chat.page.wait_for_function("() => localStorage.getItem('posterchat.conversation') === " + json.dumps(first))
    chat.page.wait_for_function("() => document.querySelector('#messages .message.user')?.innerText === 'Hello poster'")
    assert shown_turns(chat) == [("user", "Hello poster"), ("assistant", "First answer")]
    assert chat.page.get_attribute(
        f"#conversation-list [data-conversation-id='{first}'] .open-conversation", "aria-current") == "true"

    # Reset empties the stored conversation.
    chat.page.click("#reset")
    chat.page.wait_for_function("() => document.querySelectorAll('#messages .message').length === 0")
    deadline = time.monotonic() + 5
    while stored_turns(server, first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_turns(server, first) == []
    assert stored_turns(server, second) == [("user", "Another question"), ("assistant", "Second answer")]

    # Deleting from the list removes it, on the server too.
    chat.page.click(f"#conversation-list [data-conversation-id='{second}'] .delete-conversation")
    chat.page.locator(f"#conversation-list [data-conversation-id='{second}']").wait_for(state="detached")
    assert stored(server, second).status_code == 404
    chat.page.click(f"#conversation-list [data-conversation-id='{first}'] .delete-conversation")
    chat.page.locator(f"#conversation-list [data-conversation-id='{first}']").wait_for(state="detached")
    assert stored(server, first).status_code == 404
    assert chat.conversation_id() is None  # the open conversation was deleted: a new chat
    chat.page.locator("#conversations-empty").wait_for()
    assert httpx.get(f"{server.url}/conversations", timeout=10).json()["data"] == []


HOSTILE = [
    "## Palette ideas\n\n",
    "Use **bold type** and *italic notes*, with `#1B2A49` as the base.\n\n",
    "- midnight blue\n- brass gold\n\n",
    "1. headline\n2. date\n\n",
    "```css\nh1 { color: #1B2A49; }\n```\n\n",
    "Careful: <img src=x on", "error=alert(1)> and <scr", "ipt>window.pwned=1</script> and ",
    "[click](javascript:alert(1)) but [site](https://example.com) is fine.",
]


def test_untrusted_answer_shows_as_text_and_markdown_renders_as_elements(chat, start_server):
    """HTML and javascript: links in an answer stay text (live and reloaded); Markdown becomes real elements."""
    server = start_server(Scripted(HOSTILE))
    chat.open(server.url)
    chat.chat("Make me a palette")

    for view in ("streamed", "reloaded from the server"):
        answer = chat.last_answer.locator(".message-body")
        text = answer.inner_text()
        assert "<img src=x onerror=alert(1)>" in text, view
        assert "<script>window.pwned=1</script>" in text, view
        assert "[click](javascript:alert(1))" in text, view
        assert chat.page.evaluate("typeof window.pwned") == "undefined", view
        assert chat.page.locator("#messages img, #messages script, #messages iframe").count() == 0, view
        assert chat.page.locator("#messages [onerror], #messages [href^='javascript' i]").count() == 0, view
        links = answer.locator("a")
        assert links.count() == 1, view
        assert links.get_attribute("href") == "https://example.com/"
        assert links.inner_text() == "site"
        assert links.get_attribute("target") == "_blank"
        assert "noopener" in links.get_attribute("rel").split()

        assert answer.locator("h2").inner_text() == "Palette ideas"
        assert answer.locator("strong").inner_text() == "bold type"
        assert answer.locator("em").inner_text() == "italic notes"
        assert answer.locator("p code").inner_text() == "#1B2A49"
        assert answer.locator("ul > li").all_inner_texts() == ["midnight blue", "brass gold"]
        assert answer.locator("ol > li").all_inner_texts() == ["headline", "date"]
        assert answer.locator("pre > code").inner_text().rstrip("\n") == "h1 { color: #1B2A49; }"
        assert chat.watch.dialogs == []

        chat.page.reload()
        chat.wait_ready()
        chat.wait_answer("done")


def test_measured_facts_show_as_cards_with_their_verdict_and_sources(chat, start_server):
    server = start_server(Scripted(["It is close to the line."]))
    chat.open(server.url)
    answer_text = chat.chat("Is #777777 text on a white background readable?")
    answer = chat.last_answer
    assert answer_text.startswith("Measured: #777777 on white (#ffffff) has a contrast ratio of 4.48:1")
    card = answer.locator(".fact[data-kind='contrast']")
    assert card.get_attribute("data-verdict") == "fail"
    assert "4.48:1" in card.locator(".fact-statement").inner_text()
    assert answer.locator(".sources a").first.get_attribute("href").startswith("https://")


def test_page_requests_nothing_but_its_server(chat, start_server):
    """Loading, chatting, listing, reopening and exporting reach the page's own server and nothing else."""
    server = start_server(Scripted(["Visit [our site](https://example.com) or https://fonts.example.org/x"]))
    chat.open(server.url)
    chat.chat("Where do I find fonts?")
    with chat.page.expect_download():
        chat.page.click("#export-markdown")
    chat.page.click("#new-chat")
    chat.page.click("#conversation-list .open-conversation")
    chat.wait_answer("done")

    seen = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in chat.watch.requests
            if urlsplit(u).scheme in ("http", "https")}
    assert seen == {server.url}
    paths = {urlsplit(u).path for u in chat.watch.requests if u.startswith(server.url)}
    assert {"/", "/static/app.js", "/static/app.css", "/v1/models", "/conversations", "/chat"} <= paths
    assert chat.watch.foreign_requests() == []


def test_enter_sends_shift_enter_adds_a_line_and_the_input_works_while_streaming(chat, start_server):
    """Enter sends, Shift+Enter adds a line; while an answer streams the input keeps its focus and takes a draft."""
    provider = Scripted(["Slow ", "and ", "steady ", "answer ", "for ", "you ", "today ", "."], delay=0.25)
    server = start_server(provider)
    chat.open(server.url)
    chat.input.click()
    chat.page.keyboard.type("line one")
    chat.page.keyboard.press("Shift+Enter")
    chat.page.keyboard.type("line two")
    assert chat.input.input_value() == "line one\nline two"
    assert chat.page.locator("#messages .message").count() == 0  # Shift+Enter did not send

    chat.page.keyboard.press("Enter")
    chat.page.locator("#messages .message.user").wait_for()
    assert chat.page.locator("#messages .message.user .message-body").inner_text() == "line one\nline two"
    assert chat.input.input_value() == ""
    chat.wait_answer("streaming")

    # While the answer streams the input keeps focus and takes a draft; Enter does not send it yet.
    assert chat.page.evaluate("document.activeElement.id") == "message-input"
    assert chat.input.is_enabled() and chat.input.is_editable()
    chat.page.keyboard.type("next question")
    assert chat.input.input_value() == "next question"
    assert chat.last_answer.get_attribute("data-state") == "streaming"
    chat.page.keyboard.press("Enter")
    assert chat.page.locator("#messages .message.user").count() == 1
    assert chat.input.input_value() == "next question"

    chat.wait_answer("done")
    provider.delay = 0
    chat.page.keyboard.press("Enter")
    chat.page.wait_for_function("() => document.querySelectorAll('#messages .message.user').length === 2")
    chat.wait_answer("done", index=1)
    assert shown_turns(chat)[2] == ("user", "next question")
    assert stored_turns(server, chat.conversation_id())[2] == ("user", "next question")


def test_failed_request_shows_the_servers_message_and_retry_works(chat, start_server):
    """An upstream failure shows the server's own message in #error; Retry asks again and the answer arrives."""
    provider = Failing(UpstreamError("The model server failed (HTTP 500)."), ["Recovered ", "answer"])
    server = start_server(provider)
    chat.watch.expect_console_error(r"the server responded with a status of 502")
    chat.open(server.url)
    chat.send("Hello?")

    chat.page.locator("#error").wait_for()
    assert chat.page.inner_text("#error-message") == "The model server failed (HTTP 500)."
    assert chat.page.get_attribute("#error", "role") == "alert"
    assert chat.wait_answer("error") is not None
    assert chat.page.is_visible("#retry")
    assert httpx.get(f"{server.url}/conversations", timeout=10).json()["data"] == []

    provider.failing = False
    chat.page.click("#retry")
    chat.page.locator("#error").wait_for(state="hidden")
    assert chat.wait_answer("done").locator(".message-body").inner_text() == "Recovered answer"
    assert shown_turns(chat) == [("user", "Hello?"), ("assistant", "Recovered answer")]
    assert stored_turns(server, chat.conversation_id()) == [("user", "Hello?"), ("assistant", "Recovered answer")]
    assert len(provider.received) == 2


def test_model_picker_and_temperature_come_from_the_server_and_are_remembered(chat, start_server, tmp_path):
    """The picker lists GET /v1/models; the chosen model and temperature are sent and survive a reload."""
    provider = Scripted(["Fine."])
    server = start_server(provider, local_models={"poster-finetune": tmp_path / "poster-finetune.gguf"})
    listed = [m["id"] for m in httpx.get(f"{server.url}/v1/models", timeout=10).json()["data"]]
    assert len(listed) == 2
    chat.open(server.url)

    options = chat.page.eval_on_selector_all("#model option", "options => options.map(o => o.value)")
    assert options == listed
    chat.page.select_option("#model", "poster-finetune")
    chat.page.focus("#temperature")
    chat.page.keyboard.press("End")  # 2.0
    for _ in range(7):
        chat.page.keyboard.press("ArrowLeft")
    assert chat.page.input_value("#temperature") == "1.3"
    assert chat.page.inner_text("#temperature-value") == "1.3"

    chat.chat("Hi")
    assert provider.params[-1].model == "poster-finetune"
    assert provider.params[-1].temperature == pytest.approx(1.3)

    chat.page.reload()
    chat.wait_ready()
    assert chat.page.input_value("#model") == "poster-finetune"
    assert chat.page.input_value("#temperature") == "1.3"
    assert chat.page.inner_text("#temperature-value") == "1.3"


def test_model_picker_starts_on_the_servers_default_until_one_is_chosen(chat, start_server, tmp_path):
    """The picker starts on the model GET /v1/models marks default (here not the first); a chosen one then wins."""
    server = start_server(Scripted(["Fine."]), local_models={"mine": tmp_path / "mine.gguf"}, default_model="mine")
    listed = httpx.get(f"{server.url}/v1/models", timeout=10).json()["data"]
    assert [(m["id"], m["default"]) for m in listed] == [(EMBEDDED_MODEL_ID, False), ("mine", True)]
    chat.open(server.url)
    assert chat.page.input_value("#model") == "mine"

    chat.page.select_option("#model", EMBEDDED_MODEL_ID)
    chat.page.reload()
    chat.wait_ready()
    assert chat.page.input_value("#model") == EMBEDDED_MODEL_ID


def test_copy_and_regenerate_the_last_answer(chat, start_server):
    """Copy puts the answer on the clipboard; Regenerate (last answer only) replaces it, on the server too."""
    provider = Scripted(["Bold ", "headline"], ["First ", "tagline"], ["Second ", "tagline"])
    server = start_server(provider)
    chat.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    chat.open(server.url)
    chat.chat("A headline style?")
    chat.chat("A tagline?")

    # Regenerate is offered on the last answer only.
    assert chat.page.locator("#regenerate").count() == 1
    assert chat.last_answer.locator("#regenerate").count() == 1

    copy = chat.last_answer.get_by_role("button", name="Copy answer")
    copy.click()
    chat.page.wait_for_function(f"() => {LAST_ANSWER_JS}.querySelector('.copy').innerText.includes('Copied')")
    assert chat.page.evaluate("navigator.clipboard.readText()") == "First tagline"

    conversation_id = chat.conversation_id()
    chat.last_answer.locator("#regenerate").click()
    chat.page.wait_for_function(
        f"() => {{ const a = {LAST_ANSWER_JS}; return a.dataset.state === 'done'"
        " && a.querySelector('.message-body').innerText === 'Second tagline'; }")
    assert shown_turns(chat) == [("user", "A headline style?"), ("assistant", "Bold headline"),
                                 ("user", "A tagline?"), ("assistant", "Second tagline")]
    assert stored_turns(server, conversation_id) == shown_turns(chat)
    assert provider.received[-1][-1] == {"role": "user", "content": "A tagline?"}


def test_export_json_and_markdown_downloads(chat, start_server):
    """Export downloads the conversation as JSON (its messages) and as Markdown."""
    answer = "Try **Futura Bold** for the headline.\n\n- Size: 96 pt"
    server = start_server(Scripted([answer]))
    chat.open(server.url)
    assert chat.page.is_disabled("#export-json") and chat.page.is_disabled("#export-markdown")
    chat.chat("Which font for a headline?")
    conversation_id = chat.conversation_id()

    with chat.page.expect_download() as download:
        chat.page.click("#export-json")
    assert download.value.suggested_filename == f"conversation-{conversation_id}.json"
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported["id"] == conversation_id
    assert [(m["role"], m["content"]) for m in exported["messages"]] == [
        ("user", "Which font for a headline?"), ("assistant", answer)]
    assert all(m.get("created_at") for m in exported["messages"])

    with chat.page.expect_download() as download:
        chat.page.click("#export-markdown")
    assert download.value.suggested_filename == f"conversation-{conversation_id}.md"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"## You\n\nWhich font for a headline?\n\n## Assistant\n\n{answer}\n" in text


INTERACTIVE_ROLES = {"button", "textbox", "combobox", "slider", "link", "checkbox", "radio", "switch",
                     "spinbutton", "searchbox", "listbox", "menuitem", "tab"}

# Every control's accessible name, the simple way (hidden controls too): aria-labelledby, aria-label, label, text.
CONTROL_NAMES = """() => [...document.querySelectorAll('button, input, select, textarea')].map((el) => {
  const byIds = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent || '').join(' ');
  const labels = [...(el.labels || [])].map((l) => l.textContent).join(' ');
  const name = (byIds || el.getAttribute('aria-label') || labels || el.textContent || el.title || '').trim();
  return {control: el.outerHTML.slice(0, 120), name};
})"""


def test_accessibility_basics(chat, start_server):
    """Every control has an accessible name, messages are a polite live log, keyboard focus is visible."""
    server = start_server(Scripted(["Use a **high-contrast** palette."]))
    chat.open(server.url)
    chat.chat("How do I make it readable?")
    chat.page.locator("#conversation-list .conversation").wait_for()

    unnamed = [c["control"] for c in chat.page.evaluate(CONTROL_NAMES) if not c["name"]]
    assert unnamed == [], "controls without an accessible name"

    tree = chat.page.context.new_cdp_session(chat.page).send("Accessibility.getFullAXTree")["nodes"]
    roles = [(n["role"]["value"], (n.get("name") or {}).get("value", "").strip()) for n in tree
             if not n.get("ignored") and n.get("role", {}).get("value") in INTERACTIVE_ROLES]
    assert len(roles) >= 8
    assert [role for role, name in roles if not name] == [], roles
    names = {name for _, name in roles}
    assert {"Message", "Model", "Temperature", "Send message", "New chat", "Copy answer", "Regenerate"} <= names

    assert chat.page.get_attribute("#messages", "aria-live") == "polite"
    assert chat.page.get_attribute("#messages", "role") == "log"

    # Keyboard focus is visible.
    chat.page.click("#conversation-title")  # a neutral start
    for _ in range(40):
        chat.page.keyboard.press("Tab")
        if chat.page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    style = chat.page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return {tag: document.activeElement.tagName, id: document.activeElement.id,
                style: s.outlineStyle, width: s.outlineWidth, visible: document.activeElement.matches(':focus-visible')}; }""")
    assert style["tag"] == "BUTTON", style
    assert style["visible"] and style["style"] != "none" and style["width"] != "0px", style


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(new_page, start_server, width, scheme):
    """Screenshots after a short conversation, for people to look at; the layout never scrolls sideways."""
    server = start_server(Scripted([
        "## Jazz night palette\n\n", "- **Midnight blue** `#1B2A49` for the background\n",
        "- *Brass gold* for the headline\n- Warm cream for the details\n\n",
        "Pair it with a condensed sans such as Oswald.",
    ]))
    chat = new_page(viewport={"width": width, "height": 800 if width > 720 else 740}, color_scheme=scheme)
    chat.open(server.url)
    chat.chat("Suggest a colour palette for a jazz night poster")
    chat.page.locator("#conversation-list .conversation").wait_for(state="attached")
    chat.page.evaluate("document.activeElement.blur()")
    assert chat.page.evaluate("document.documentElement.scrollWidth") <= width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"chat-{width}-{scheme}.png"
    chat.page.screenshot(path=str(path))
    assert path.stat().st_size > 1000
