/* The poster panel: a preview of the conversation's poster with its design findings, one-click fixes and re-checks.
   The poster is remembered per conversation in localStorage and sent with every chat request while one is loaded. */
(function (pc) {
  "use strict";

  const { api, storage, jsonPatch, posterSvg } = pc;
  const { el, icon } = pc.dom;
  const SEVERITIES = {
    error: { label: "Error", noun: "error", icon: "alert" },
    warning: { label: "Warning", noun: "warning", icon: "warning" },
    info: { label: "Note", noun: "note", icon: "info" },
  };

  const ui = {};
  const state = {
    key: null, // localStorage key: "poster.<conversation id>", or "poster.new" before the first answer
    poster: null,
    revision: 0, // counts changes, so findings about an older poster are ignored
    findings: [],
    current: false, // the findings were measured on the poster as it is now (so their fixes apply)
    svg: null,
  };

  function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  function storageKey(conversationId) {
    return `poster.${conversationId || "new"}`;
  }

  function restore(key) {
    try {
      return JSON.parse(storage.get(key));
    } catch {
      return null;
    }
  }

  function save() {
    if (state.poster) storage.set(state.key, JSON.stringify(state.poster));
    else storage.remove(state.key);
  }

  // ---- drawing ----

  function setStatus(text, { retry = false } = {}) {
    ui.status.textContent = text;
    ui.recheck.hidden = !retry;
  }

  function summary(findings) {
    if (!findings.length) return "No problems found.";
    const parts = Object.entries(SEVERITIES)
      .map(([severity, { noun }]) => [findings.filter((f) => f.severity === severity).length, noun])
      .filter(([count]) => count)
      .map(([count, noun]) => plural(count, noun));
    return `${plural(findings.length, "finding")}: ${parts.join(", ")}.`;
  }

  function findingItem(finding, index) {
    const severity = SEVERITIES[finding.severity] || SEVERITIES.info;
    const item = el("li", "finding");
    item.dataset.severity = finding.severity;
    item.dataset.check = finding.check;
    item.dataset.index = String(index);
    item.tabIndex = 0; // focusing a finding highlights its elements, as hovering does
    const label = el("span", "finding-severity");
    label.append(icon(severity.icon), el("span", "", severity.label));
    const message = el("p", "finding-message", finding.message);
    message.id = `finding-${index}`;
    item.append(label, message);
    if (finding.fix) {
      const apply = el("button", "finding-fix", "Apply fix");
      apply.type = "button";
      apply.disabled = !state.current;
      apply.setAttribute("aria-describedby", message.id);
      item.append(apply);
    }
    return item;
  }

  function render() {
    const loaded = Boolean(state.poster);
    ui.empty.hidden = loaded;
    ui.canvas.hidden = !loaded;
    ui.legend.hidden = !loaded;
    state.svg = loaded ? posterSvg.draw(state.poster, state.findings) : null;
    ui.canvas.replaceChildren(...(state.svg ? [state.svg] : []));
    ui.findings.replaceChildren(...state.findings.map(findingItem));
    ui.findings.setAttribute("aria-busy", String(loaded && !state.current));
    const count = loaded ? state.findings.length : 0;
    if (count) ui.toggle.dataset.count = String(count);
    else delete ui.toggle.dataset.count;
    ui.toggle.setAttribute("aria-label", count ? `Poster preview, ${plural(count, "finding")}` : "Poster preview");
  }

  function highlightFrom(target) {
    const item = target instanceof Element && ui.findings.contains(target) ? target.closest(".finding") : null;
    for (const other of ui.findings.children) other.classList.toggle("is-highlighted", other === item);
    if (state.svg) posterSvg.highlight(state.svg, item ? Number(item.dataset.index) : null);
  }

  // ---- changing the poster ----

  function setPoster(poster, findings = []) {
    state.poster = poster;
    state.findings = findings;
    state.current = false;
    state.revision += 1;
    save();
    render();
  }

  function showFindings(findings) {
    state.findings = findings;
    state.current = true;
    render();
    setStatus(summary(findings));
  }

  async function check() {
    const revision = state.revision;
    setStatus("Checking the poster…");
    try {
      const { findings } = await api.checkPoster(state.poster);
      if (revision === state.revision) showFindings(findings);
    } catch (err) {
      if (revision === state.revision) setStatus(`Couldn't check the poster. ${err.message}`, { retry: true });
    }
  }

  function loadSample() {
    setPoster(structuredClone(pc.samplePoster));
    check();
  }

  // A poster file (or a saved /chat or /poster/check body holding one) is loaded once the server accepts it.
  async function loadFile(file) {
    const key = state.key;
    let poster;
    try {
      const data = JSON.parse(await file.text());
      poster = data && typeof data === "object" && "poster" in data ? data.poster : data;
    } catch {
      setStatus(`${file.name} is not a JSON file.`);
      return;
    }
    setStatus(`Checking ${file.name}…`);
    try {
      const { findings } = await api.checkPoster(poster);
      if (key !== state.key) return;
      setPoster(poster);
      showFindings(findings);
    } catch (err) {
      if (key === state.key) setStatus(`Couldn't load ${file.name}. ${err.message}`);
    }
  }

  // The fix changes the preview at once; the other findings wait for the re-check, as their fixes may no longer fit.
  function applyFix(index) {
    const finding = state.findings[index];
    if (!finding || !finding.fix || !state.current) return;
    let patched;
    try {
      patched = jsonPatch.apply(state.poster, finding.fix);
    } catch (err) {
      setStatus(`That fix could not be applied: ${err.message}.`);
      return;
    }
    ui.status.focus(); // the finding and its button are about to go
    setPoster(patched, state.findings.filter((other) => other !== finding));
    check();
  }

  // ---- the chat page's side ----

  /** Show the poster of a conversation (null: a new chat): the one kept in this browser, else the stored one. */
  function useConversation(conversationId, stored = null) {
    const key = storageKey(conversationId);
    if (key === state.key && state.poster) return;
    state.key = key;
    setPoster(restore(key) || stored);
    setStatus("");
    if (state.poster) check();
  }

  /** What a chat request carries: the poster and its revision, or null without one. */
  function snapshot() {
    return state.poster ? { poster: state.poster, revision: state.revision } : null;
  }

  /** After an answer: a new chat's poster moves to its conversation, and the design notes on it become the findings. */
  function answered(sent, conversationId, designNotes) {
    if (conversationId && state.key === storageKey(null)) {
      storage.remove(state.key);
      state.key = storageKey(conversationId);
      save();
    }
    if (sent && sent.revision === state.revision && Array.isArray(designNotes)) showFindings(designNotes);
  }

  function forget(conversationId) {
    storage.remove(storageKey(conversationId));
  }

  function init() {
    const byId = (id) => document.getElementById(id);
    Object.assign(ui, {
      toggle: byId("poster-toggle"),
      empty: byId("poster-empty"),
      canvas: byId("poster-canvas"),
      legend: byId("poster-legend"),
      status: byId("poster-status"),
      recheck: byId("poster-recheck"),
      findings: byId("poster-findings"),
      sample: byId("poster-sample"),
      load: byId("poster-load"),
      file: byId("poster-file"),
    });
    ui.sample.addEventListener("click", loadSample);
    ui.load.addEventListener("click", () => ui.file.click());
    ui.file.addEventListener("change", () => {
      const [file] = ui.file.files;
      ui.file.value = ""; // so the same file can be chosen again
      if (file) loadFile(file);
    });
    ui.recheck.addEventListener("click", check);
    ui.findings.addEventListener("click", (event) => {
      const apply = event.target.closest(".finding-fix");
      if (apply) applyFix(Number(apply.closest(".finding").dataset.index));
    });
    ui.findings.addEventListener("mouseover", (event) => highlightFrom(event.target));
    ui.findings.addEventListener("mouseleave", () => highlightFrom(document.activeElement));
    ui.findings.addEventListener("focusin", (event) => highlightFrom(event.target));
    ui.findings.addEventListener("focusout", (event) => highlightFrom(event.relatedTarget));
  }

  init();
  pc.preview = { useConversation, snapshot, answered, forget };
})(window.posterchat = window.posterchat || {});
