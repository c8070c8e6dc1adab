"""The poster panel in real headless Chromium: the SVG preview, the findings marked on it, Apply fix, and the poster
that the next chat request carries. Scripted fake models answer, so these stay fast."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlsplit

import httpx
import jsonpatch
import pytest

from posterchat.poster import SAMPLE_POSTER

from .conftest import SCREENSHOTS, ChatPage, Scripted

pytestmark = pytest.mark.browser

MM_PER_POINT = 25.4 / 72
FINDINGS_JS = """() => [...document.querySelectorAll('#poster-findings .finding')].map((item) => ({
  check: item.dataset.check, severity: item.dataset.severity,
  message: item.querySelector('.finding-message').textContent, fix: Boolean(item.querySelector('.finding-fix')),
}))"""
HIGHLIGHTED_JS = "[...document.querySelectorAll('.poster-outline.is-highlighted')].map((o) => o.dataset.for)"


def server_findings(server, poster: dict) -> list[dict]:
    response = httpx.post(f"{server.url}/poster/check", json={"poster": poster}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["findings"]


def as_listed(findings: list[dict]) -> list[dict]:
    return [{"check": f["check"], "severity": f["severity"], "message": f["message"], "fix": f["fix"] is not None}
            for f in findings]


def wait_checked(chat: ChatPage) -> None:
    """Until the panel shows the findings of the poster as it is now (not while a check is running)."""
    chat.page.wait_for_function("() => /finding|No problems/.test(document.querySelector('#poster-status').textContent)"
                                " && document.querySelector('#poster-findings').getAttribute('aria-busy') === 'false'")


def open_sample(chat: ChatPage) -> None:
    chat.page.click("#poster-toggle")
    chat.page.click("#poster-sample")
    wait_checked(chat)


def fixed(poster: dict, finding: dict) -> dict:
    return jsonpatch.apply_patch(poster, finding["fix"])


def test_the_sample_poster_is_drawn_with_the_servers_findings_outlined(chat, start_server):
    """The sample's elements are drawn; the list shows POST /poster/check's findings; their elements are outlined."""
    server = start_server(Scripted(["Fine."]))
    chat.open(server.url)
    assert chat.page.is_hidden("#poster-panel")
    open_sample(chat)
    page = chat.page

    svg = page.locator("#poster-canvas svg")
    assert svg.get_attribute("role") == "img"
    assert svg.get_attribute("aria-label").startswith("Poster preview: 420 × 594 mm, background #fdf6e3, 5 elements")
    drawn = page.eval_on_selector_all("#poster-canvas [data-element-id]",
                                      "nodes => nodes.map(n => [n.dataset.elementId, n.tagName])")
    tags = {"shape": "rect", "text": "text", "image": "g"}
    assert drawn == [[e["id"], tags[e["type"]]] for e in SAMPLE_POSTER["elements"]]
    assert page.get_attribute("[data-element-id=band]", "fill") == "#1d3557"
    title = page.locator("text[data-element-id=title]")
    assert title.get_attribute("fill") == "#e9c46a"
    assert float(title.get_attribute("font-size")) == pytest.approx(72 * MM_PER_POINT)
    assert title.get_attribute("font-weight") == "700"
    assert title.text_content() == "Summer Jazz Night"
    assert page.locator("[data-element-id=photo] path").count() == 1  # the placeholder's cross
    assert "photo · 1600×1200 px" in page.locator("[data-element-id=photo] text").text_content()
    assert page.locator("#poster-canvas .poster-trim").count() == 1
    safe = page.locator("#poster-canvas .poster-safe")
    assert [float(safe.get_attribute(a)) for a in ("x", "y", "width", "height")] == [5, 5, 410, 584]

    expected = server_findings(server, SAMPLE_POSTER)
    assert len(expected) >= 5
    assert page.evaluate(FINDINGS_JS) == as_listed(expected)
    assert page.inner_text("#poster-status").startswith(f"{len(expected)} findings:")
    assert page.get_attribute("#poster-toggle", "aria-label") == f"Poster preview, {len(expected)} findings"

    # Every finding's elements are outlined, in the style of their worst finding: solid errors, dashed warnings.
    for index, finding in enumerate(expected):
        for element_id in finding["elements"]:
            outline = page.locator(f".poster-outline[data-for={element_id}]")
            assert str(index) in outline.get_attribute("data-findings").split(), (finding, element_id)
    contrast = next(i for i, f in enumerate(expected) if f["check"] == "contrast")
    assert page.get_attribute(".poster-outline[data-for=title]", "data-severity") == "error"
    dashes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.poster-outline')].map((o) =>
        [o.dataset.severity, getComputedStyle(o.querySelector('.line')).strokeDasharray]))""")
    assert dashes["error"] == "none" and dashes["warning"] not in ("none", "")

    # Hovering, or focusing, a finding highlights its elements only.
    page.hover(f".finding[data-index='{contrast}']")
    assert page.evaluate(HIGHLIGHTED_JS) == ["title"]
    assert "is-highlighting" in svg.get_attribute("class")
    image = next(i for i, f in enumerate(expected) if f["check"] == "image_resolution")
    page.mouse.move(0, 0)
    page.focus(f".finding[data-index='{image}']")
    assert page.evaluate(HIGHLIGHTED_JS) == ["photo"]


def test_apply_fix_redraws_rechecks_and_the_next_message_carries_the_patched_poster(chat, start_server):
    """Apply fix patches the preview, the re-check drops the finding, and the next /chat sends the patched poster."""
    provider = Scripted(["The headline ", "reads well now."])
    server = start_server(provider)
    chat.open(server.url)
    open_sample(chat)
    page = chat.page
    before = server_findings(server, SAMPLE_POSTER)
    contrast = next(f for f in before if f["check"] == "contrast")
    new_colour = contrast["fix"][0]["value"]

    checks = []
    page.on("request", lambda r: urlsplit(r.url).path == "/poster/check" and checks.append(r.post_data_json))
    page.click(".finding[data-check=contrast] .finding-fix")
    page.wait_for_function(
        "colour => document.querySelector('text[data-element-id=title]').getAttribute('fill') === colour", arg=new_colour)
    wait_checked(chat)
    poster = fixed(SAMPLE_POSTER, contrast)
    assert checks == [{"poster": poster}]
    listed = page.evaluate(FINDINGS_JS)
    assert listed == as_listed(server_findings(server, poster))
    assert contrast["message"] not in [f["message"] for f in listed]
    assert page.locator(".finding[data-check=contrast][data-severity=error]").count() == 0  # an AAA note may stay

    # A second fix, on the text size, changes the drawn size.
    size = next(f for f in server_findings(server, poster) if f["check"] == "min_text_size")
    page.click(".finding[data-check=min_text_size] .finding-fix")
    points = size["fix"][0]["value"]
    page.wait_for_function(f"() => Math.abs(document.querySelector('text[data-element-id=details]')"
                           f".getAttribute('font-size') - {points * MM_PER_POINT}) < 1e-6")
    wait_checked(chat)
    poster = fixed(poster, size)
    assert page.locator(".finding[data-check=min_text_size]").count() == 0
    assert page.evaluate(FINDINGS_JS) == as_listed(server_findings(server, poster))

    # The next message carries the patched poster, and the model is told about it.
    with page.expect_request(lambda r: r.method == "POST" and urlsplit(r.url).path == "/chat") as sent:
        chat.send("Is the headline readable now?")
    assert sent.value.post_data_json["poster"] == poster
    chat.wait_answer("done")
    system = provider.received[-1][0]
    assert system["role"] == "system"
    assert f'colour "{new_colour}"' in system["content"]  # poster strings go in JSON-quoted (poster/assistant.py)
    assert f'{points} pt, font "Inter"' in system["content"]

    # The answer's design notes are the findings now; the conversation keeps the poster, here and on the server.
    conversation_id = chat.conversation_id()
    stored = httpx.get(f"{server.url}/conversations/{conversation_id}", timeout=10).json()["poster"]
    assert stored["elements"][1]["color"] == new_colour
    assert page.evaluate(FINDINGS_JS) == as_listed(server_findings(server, poster))
    kept = page.evaluate(f"localStorage.getItem('posterchat.poster.{conversation_id}')")
    assert json.loads(kept) == poster
    assert page.evaluate("localStorage.getItem('posterchat.poster.new')") is None

    page.reload()
    chat.wait_ready()
    wait_checked(chat)
    assert page.get_attribute("text[data-element-id=title]", "fill") == new_colour
    assert page.evaluate(FINDINGS_JS) == as_listed(server_findings(server, poster))


def test_each_conversation_shows_its_own_poster(chat, start_server):
    """A conversation's stored poster (GET /conversations/{id}) is shown when it is opened; a new chat has none."""
    server = start_server(Scripted(["Noted."]))
    poster = copy.deepcopy(SAMPLE_POSTER)
    poster["elements"][1]["content"] = "Autumn Folk Evening"
    response = httpx.post(f"{server.url}/chat", json={"message": "Here is my poster", "poster": poster}, timeout=10)
    assert response.status_code == 200, response.text
    conversation_id = response.json()["conversation_id"]

    chat.open(server.url)
    chat.page.click("#poster-toggle")
    assert chat.page.is_visible("#poster-empty")
    chat.page.click(f"#conversation-list [data-conversation-id='{conversation_id}'] .open-conversation")
    wait_checked(chat)
    assert chat.page.text_content("text[data-element-id=title]") == "Autumn Folk Evening"
    assert chat.page.evaluate(FINDINGS_JS) == as_listed(server_findings(server, poster))

    chat.page.click("#new-chat")
    assert chat.page.is_visible("#poster-empty")
    assert chat.page.locator("#poster-canvas svg").count() == 0
    assert chat.page.get_attribute("#poster-toggle", "aria-label") == "Poster preview"


def test_load_poster_json_accepts_a_poster_file_and_explains_a_bad_one(chat, start_server, tmp_path):
    """Load poster JSON draws a valid file (any unit); an invalid one shows the server's reason and changes nothing."""
    server = start_server(Scripted(["Fine."]))
    chat.open(server.url)
    chat.page.click("#poster-toggle")
    poster = {"width": 1080, "height": 1350, "unit": "px", "background": "#101820", "elements": [
        {"id": "headline", "type": "text", "x": 80, "y": 80, "width": 920, "height": 200, "content": "Open Studio",
         "font_family": "Inter", "font_size": 64, "font_weight": 800, "color": "#fee715", "role": "headline"}]}
    good = tmp_path / "square.json"
    good.write_text(json.dumps({"poster": poster}), encoding="utf-8")
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps({"width": 100}), encoding="utf-8")
    chat.watch.expect_console_error(r"status of 422")

    chat.page.set_input_files("#poster-file", str(good))
    wait_checked(chat)
    pad = 0.03 * 1350
    view_box = [float(v) for v in chat.page.get_attribute("#poster-canvas svg", "viewBox").split()]
    assert view_box == pytest.approx([-pad, -pad, 1080 + 2 * pad, 1350 + 2 * pad])
    headline = chat.page.locator("text[data-element-id=headline]")
    assert float(headline.get_attribute("font-size")) == pytest.approx(64 / 72 * 96)  # pt at 96 dpi
    assert chat.page.evaluate(FINDINGS_JS) == as_listed(server_findings(server, poster))

    chat.page.set_input_files("#poster-file", str(bad))
    chat.page.wait_for_function(
        "() => document.querySelector('#poster-status').textContent.includes(\"Couldn't load broken.json\")")
    assert "poster.height: Field required" in chat.page.inner_text("#poster-status")
    assert chat.page.locator("text[data-element-id=headline]").count() == 1


def test_json_patch_applies_add_and_replace_atomically(chat, start_server):
    """posterchat.jsonPatch: RFC 6902 add/replace with JSON Pointer escapes; a failing patch changes nothing."""
    chat.open(start_server(Scripted(["Fine."])).url)
    result = chat.page.evaluate("""() => {
      const { apply } = window.posterchat.jsonPatch;
      const doc = { a: { "b/c": 1, "d~e": 2 }, list: [1, 2] };
      const attempt = (patch) => {
        try { return apply(doc, patch); } catch (err) { return `${err.name}: ${err.message}`; }
      };
      return {
        patched: apply(doc, [
          { op: "replace", path: "/a/b~1c", value: 10 }, { op: "add", path: "/a/d~0e", value: 20 },
          { op: "add", path: "/list/1", value: 1.5 }, { op: "add", path: "/list/-", value: 3 },
          { op: "replace", path: "/list/0", value: 0 }, { op: "add", path: "/new", value: { deep: [1] } },
        ]),
        original: doc,
        missing: attempt([{ op: "add", path: "/a/x", value: 1 }, { op: "replace", path: "/nope", value: 1 }]),
        badIndex: attempt([{ op: "add", path: "/list/5", value: 1 }]),
        remove: attempt([{ op: "remove", path: "/a" }]),
      };
    }""")
    assert result["patched"] == {"a": {"b/c": 10, "d~e": 20}, "list": [0, 1.5, 2, 3], "new": {"deep": [1]}}
    assert result["original"] == {"a": {"b/c": 1, "d~e": 2}, "list": [1, 2]}
    assert result["missing"].startswith("PatchError: ") and result["missing"].endswith(" at /nope")
    assert result["badIndex"].startswith("PatchError: ") and result["badIndex"].endswith(" at /list/5")
    assert result["remove"].startswith("PatchError:")


def test_the_page_opened_from_disk_checks_the_sample_poster(chat, start_server):
    """chat_ui.html from disk has the sample too (embedded in a script) and checks it against the server."""
    server = start_server(Scripted(["Fine."]))
    chat.open(server.url, file=True)
    open_sample(chat)
    assert chat.page.evaluate(FINDINGS_JS) == as_listed(server_findings(server, SAMPLE_POSTER))


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_poster_screenshots(new_page, start_server, width, scheme):
    """Screenshots of the panel with the sample poster and a highlighted finding; nothing scrolls sideways."""
    server = start_server(Scripted(["Raise the headline contrast first."]))
    chat = new_page(viewport={"width": width, "height": 800 if width > 720 else 740}, color_scheme=scheme)
    chat.open(server.url)
    chat.chat("Check my poster")
    open_sample(chat)
    chat.page.hover(".finding[data-check=contrast]")
    assert chat.page.evaluate("document.documentElement.scrollWidth") <= width
    box = chat.page.locator("#poster-canvas svg").bounding_box()
    assert box["width"] > 200 and box["height"] > 250
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"poster-{width}-{scheme}.png"
    chat.page.screenshot(path=str(path))
    assert path.stat().st_size > 1000
