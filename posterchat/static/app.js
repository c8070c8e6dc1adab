/* Chat page controller: wires the page to posterchat.api, posterchat.markdown, posterchat.exporter and posterchat.preview. */
(function (pc) {
  "use strict";

  const { api, markdown, exporter, storage, preview } = pc;
  const { el, icon } = pc.dom;
  const PAGE_SIZE = 20;
  const DEFAULT_TEMPERATURE = 0.7;
  const NARROW = window.matchMedia("(max-width: 720px)");
  const STATUS_TEXT = { stopped: "Stopped", error: "Not finished" };
  const HINT_IDLE = "Enter to send · Shift+Enter for a new line";
  const HINT_STREAMING = "Answering… press Esc or Stop to stop";

  const ui = {};
  const state = {
    conversationId: null,
    title: "",
    messages: [], // { role, content, state, id, createdAt, request, note, frame, node, body, status, actions, copy }
    stream: null, // AbortController of the answer being streamed
    listOffset: 0,
    loadToken: 0, // the latest conversation load wins
    retry: null,
  };

  // ---- small DOM helpers ----

  function actionButton(name, label, className) {
    const button = el("button", `message-action ${className}`);
    button.type = "button";
    button.append(icon(name), el("span", "", label));
    return button;
  }

  function setButtonLabel(button, label) {
    button.querySelector("span").textContent = label;
  }

  function announce(text) {
    ui.announcer.textContent = "";
    window.setTimeout(() => {
      ui.announcer.textContent = text;
    }, 50);
  }

  // ---- errors ----

  function showError(message, retry) {
    const follow = isNearBottom();
    ui.errorMessage.textContent = message;
    state.retry = retry || null;
    ui.retry.hidden = !retry;
    ui.error.hidden = false;
    if (follow) scrollToBottom();
  }

  function hideError() {
    ui.error.hidden = true;
    state.retry = null;
  }

  // ---- messages ----

  function addMessage(role, content, fields = {}) {
    const message = { role, content, state: "done", id: null, createdAt: new Date().toISOString(), ...fields };
    message.node = el("article", `message ${role}`);
    message.body = el("div", role === "user" ? "message-body" : "message-body markdown");
    message.node.append(message.body);
    if (role === "assistant") {
      message.grounding = el("div", "message-grounding");
      message.node.append(message.grounding);
      const footer = el("div", "message-footer");
      message.status = el("span", "message-status");
      message.actions = el("div", "message-actions");
      message.copy = actionButton("copy", "Copy", "copy");
      message.copy.setAttribute("aria-label", "Copy answer");
      message.copy.addEventListener("click", () => copyAnswer(message, message.copy));
      message.actions.append(message.copy);
      footer.append(message.status, message.actions);
      message.node.append(footer);
    }
    state.messages.push(message);
    ui.messages.append(message.node);
    paint(message);
    updateChrome();
    return message;
  }

  function paint(message) {
    if (message.frame) cancelAnimationFrame(message.frame);
    message.frame = 0;
    if (message.role === "user") {
      message.body.textContent = message.content;
      return;
    }
    message.body.replaceChildren(markdown.render(message.content));
    message.grounding.replaceChildren(...groundingNodes(message));
    message.node.dataset.state = message.state;
    if (message.id !== null) message.node.dataset.messageId = message.id;
    message.copy.hidden = !message.content;
    const status = message.state === "error" && !message.content ? "No answer" : STATUS_TEXT[message.state];
    message.status.textContent = [status, message.note].filter(Boolean).join(" · ");
  }

  // The facts posterchat measured for the question, as cards with their verdict, and the sources the answer used.
  function groundingNodes(message) {
    const nodes = [];
    const facts = message.facts || [];
    if (facts.length) {
      const list = el("ul", "facts");
      list.setAttribute("aria-label", "Measured facts");
      for (const fact of facts) {
        const item = el("li", "fact");
        item.dataset.kind = fact.kind;
        const passes = fact.values && fact.values.aa_normal;
        if (passes !== undefined) item.dataset.verdict = passes ? "pass" : "fail";
        item.append(el("span", "fact-label", "Measured"), el("p", "fact-statement", fact.statement));
        list.append(item);
      }
      nodes.push(list);
    }
    const references = message.references || [];
    if (references.length) {
      const sources = el("p", "sources", "Sources: ");
      references.forEach((ref, index) => {
        const link = el("a", "", ref.source);
        link.href = ref.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        sources.append(...(index ? [document.createTextNode(" · "), link] : [link]));
      });
      nodes.push(sources);
    }
    return nodes;
  }

  // Streamed tokens are painted at most once per frame.
  function schedulePaint(message) {
    if (message.frame) return;
    message.frame = requestAnimationFrame(() => {
      const follow = isNearBottom();
      paint(message);
      if (follow) scrollToBottom();
    });
  }

  function removeMessage(message) {
    state.messages = state.messages.filter((m) => m !== message);
    message.node.remove();
  }

  function clearThread() {
    state.messages = [];
    ui.messages.replaceChildren();
    updateChrome();
  }

  function lastMessage() {
    return state.messages[state.messages.length - 1];
  }

  function isNearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = ui.thread;
    return scrollHeight - scrollTop - clientHeight < 80;
  }

  function scrollToBottom() {
    ui.thread.scrollTop = ui.thread.scrollHeight;
  }

  // Title, empty state, enabled buttons and the single Regenerate button follow the current state.
  function updateChrome() {
    const hasMessages = state.messages.length > 0;
    const title = state.title || (state.conversationId ? "Untitled conversation" : "New chat");
    ui.title.textContent = title;
    document.title = `${title} · Poster chat`;
    ui.emptyState.hidden = hasMessages;
    ui.reset.disabled = !hasMessages && !state.conversationId;
    ui.exportJson.disabled = !hasMessages;
    ui.exportMarkdown.disabled = !hasMessages;

    const last = lastMessage();
    if (last && last.role === "assistant" && !state.stream) last.actions.append(ui.regenerate);
    else ui.regenerate.remove();
  }

  // ---- chatting ----

  function settings() {
    return {
      temperature: Number(ui.temperature.value),
      ...(ui.model.value && { model: ui.model.value }),
    };
  }

  function setStreaming(controller) {
    const hiding = controller ? ui.send : ui.stop;
    const refocus = document.activeElement === hiding;
    state.stream = controller;
    ui.send.hidden = Boolean(controller);
    ui.stop.hidden = !controller;
    ui.hint.textContent = controller ? HINT_STREAMING : HINT_IDLE;
    ui.messages.setAttribute("aria-busy", String(Boolean(controller)));
    if (refocus) ui.input.focus();
    updateChrome();
  }

  function stopStreaming() {
    if (state.stream) state.stream.abort();
  }

  function send() {
    const text = ui.input.value.trim();
    if (!text || state.stream) return;
    ui.input.value = "";
    autosize();
    const history = api.stateless ? clientHistory() : null;
    addMessage("user", text);
    scrollToBottom();
    if (history) runChat({ message: text, conversation_history: history });
    else runChat(state.conversationId ? { message: text, conversation_id: state.conversationId } : { message: text });
  }

  // The conversation as the page keeps it (the spec's conversation_history): every question with its finished answer.
  function clientHistory() {
    const history = [];
    state.messages.forEach((message, index) => {
      const reply = state.messages[index + 1];
      if (message.role === "user" && reply && reply.role === "assistant" && reply.state === "done") {
        history.push({ role: "user", content: message.content }, { role: "assistant", content: reply.content });
      }
    });
    return history;
  }

  // Streams one answer for `request` into a new assistant message.
  async function runChat(request) {
    hideError();
    const message = addMessage("assistant", "", { state: "streaming", request });
    scrollToBottom();
    const controller = new AbortController();
    const sent = preview.snapshot();
    setStreaming(controller);
    try {
      const result = await api.streamChat({ ...request, ...settings(), ...(sent && { poster: sent.poster }) }, {
        signal: controller.signal,
        onDelta(text) {
          message.content += text;
          schedulePaint(message);
        },
      });
      message.content = result.response;
      message.facts = result.facts || [];
      message.references = result.references || [];
      message.id = result.message_id ?? null;
      message.state = "done";
      message.note = result.truncated_turns > 0 ? `${result.truncated_turns} earlier turn${result.truncated_turns === 1 ? "" : "s"} left out to fit` : "";
      if (result.conversation_id) rememberConversation(result.conversation_id);
      preview.answered(sent, result.conversation_id, result.design_notes);
      refreshConversations();
    } catch (err) {
      if (err.name === "AbortError") {
        message.state = "stopped";
        announce("Answer stopped");
      } else {
        message.state = "error";
        if (state.messages.includes(message)) showError(err.message, () => retry(message));
      }
    } finally {
      const follow = isNearBottom();
      paint(message);
      if (state.stream === controller) setStreaming(null);
      if (follow) scrollToBottom();
    }
  }

  function retry(message) {
    if (lastMessage() !== message || state.stream) return;
    removeMessage(message);
    runChat(message.request);
  }

  // A stored answer is replaced on the server; a stopped or failed one is asked for again as it was.
  function regenerate() {
    const last = lastMessage();
    if (!last || last.role !== "assistant" || state.stream) return;
    const request = last.state === "done" && state.conversationId ? { conversation_id: state.conversationId, regenerate: true } : last.request;
    if (!request) return;
    removeMessage(last);
    runChat(request);
  }

  async function copyAnswer(message, button) {
    const copied = await copyText(message.content);
    setButtonLabel(button, copied ? "Copied" : "Copy failed");
    button.querySelector("use").setAttribute("href", copied ? "#i-check" : "#i-copy");
    announce(copied ? "Answer copied" : "Could not copy the answer");
    window.setTimeout(() => {
      setButtonLabel(button, "Copy");
      button.querySelector("use").setAttribute("href", "#i-copy");
    }, 1600);
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      return legacyCopy(text);
    }
  }

  // For pages without the async clipboard (insecure origins, denied permission).
  function legacyCopy(text) {
    const focused = document.activeElement;
    const area = el("textarea", "clipboard-helper");
    area.value = text;
    area.setAttribute("readonly", "");
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    area.remove();
    if (focused) focused.focus();
    return copied;
  }

  // ---- conversations ----

  function rememberConversation(id) {
    state.conversationId = id;
    storage.set("conversation", id);
    markActiveConversation();
    updateChrome();
  }

  function newChat({ focus = true } = {}) {
    stopStreaming();
    hideError();
    state.loadToken += 1;
    state.conversationId = null;
    state.title = "";
    storage.remove("conversation");
    preview.useConversation(null);
    clearThread();
    markActiveConversation();
    setDrawer(false);
    if (focus) ui.input.focus();
  }

  async function resetConversation() {
    stopStreaming();
    hideError();
    if (state.conversationId) {
      try {
        await api.resetConversation(state.conversationId);
      } catch (err) {
        showError(err.message, resetConversation);
        return;
      }
      refreshConversations();
    }
    clearThread();
    announce("Conversation reset");
    ui.input.focus();
  }

  // Loads a stored conversation; one that is gone silently becomes a new chat. Other failures throw.
  async function loadConversation(id) {
    stopStreaming();
    hideError();
    const token = ++state.loadToken;
    let conversation;
    try {
      conversation = await api.getConversation(id);
    } catch (err) {
      if (token !== state.loadToken) return;
      if (err.status !== 404) throw err;
      newChat({ focus: false });
      refreshConversations();
      return;
    }
    if (token !== state.loadToken) return;
    showConversation(conversation);
  }

  async function openConversation(id) {
    setDrawer(false);
    try {
      await loadConversation(id);
    } catch (err) {
      showError(err.message, () => openConversation(id));
    }
  }

  function showConversation(conversation) {
    rememberConversation(conversation.id);
    preview.useConversation(conversation.id, conversation.poster);
    state.title = conversation.title || "";
    // Replaying a whole conversation into the live log would read it all aloud: announce it once instead.
    ui.messages.setAttribute("aria-live", "off");
    clearThread();
    for (const message of conversation.messages) {
      if (message.role === "user" || message.role === "assistant") {
        addMessage(message.role, message.content, { id: message.id ?? null, createdAt: message.created_at });
      }
    }
    updateChrome();
    scrollToBottom();
    requestAnimationFrame(() => ui.messages.setAttribute("aria-live", "polite"));
    announce(`Opened ${state.title || "conversation"}, ${state.messages.length} messages`);
  }

  function relativeTime(value) {
    const time = typeof value === "number" ? value * (value < 1e12 ? 1000 : 1) : Date.parse(value);
    if (Number.isNaN(time)) return "";
    const seconds = (time - Date.now()) / 1000;
    if (Math.abs(seconds) >= 7 * 86400) {
      const sameYear = new Date(time).getFullYear() === new Date().getFullYear();
      return new Date(time).toLocaleDateString(undefined, { day: "numeric", month: "short", ...(!sameYear && { year: "numeric" }) });
    }
    const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
    }
    return "just now";
  }

  function conversationItem(conversation) {
    const item = el("li", "conversation");
    item.dataset.conversationId = conversation.id;
    const title = conversation.title || "Untitled conversation";
    const open = el("button", "open-conversation");
    open.type = "button";
    open.title = title;
    const count = conversation.message_count;
    const meta = [count === undefined ? "" : `${count} message${count === 1 ? "" : "s"}`, relativeTime(conversation.updated_at)];
    open.append(el("span", "conversation-name", title), el("span", "conversation-meta", meta.filter(Boolean).join(" · ")));
    const remove = el("button", "icon-button small delete-conversation");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete “${title}”`);
    remove.title = "Delete";
    remove.append(icon("trash"));
    item.append(open, remove);
    return item;
  }

  function markActiveConversation() {
    for (const item of ui.conversationList.children) {
      const active = item.dataset.conversationId === state.conversationId;
      item.classList.toggle("active", active);
      const open = item.querySelector(".open-conversation");
      if (active) open.setAttribute("aria-current", "true");
      else open.removeAttribute("aria-current");
    }
  }

  async function loadConversations({ more = false } = {}) {
    if (api.stateless) return;
    const offset = more ? state.listOffset : 0;
    const page = await api.listConversations(offset, PAGE_SIZE);
    const items = page.data.map(conversationItem);
    if (more) ui.conversationList.append(...items);
    else ui.conversationList.replaceChildren(...items);
    state.listOffset = offset + page.data.length;
    ui.loadMore.hidden = !page.has_more;
    ui.listEmpty.hidden = ui.conversationList.children.length > 0;
    const current = page.data.find((c) => c.id === state.conversationId);
    if (current && current.title) state.title = current.title;
    markActiveConversation();
    updateChrome();
  }

  function refreshConversations() {
    return loadConversations().catch((err) => showError(err.message, refreshConversations));
  }

  async function deleteConversation(item) {
    const id = item.dataset.conversationId;
    const neighbour = item.nextElementSibling || item.previousElementSibling;
    try {
      await api.deleteConversation(id);
    } catch (err) {
      if (err.status !== 404) {
        showError(err.message, () => deleteConversation(item));
        return;
      }
    }
    item.remove();
    preview.forget(id);
    if (id === state.conversationId) newChat({ focus: false });
    announce("Conversation deleted");
    await refreshConversations();
    const next = neighbour && ui.conversationList.querySelector(`[data-conversation-id="${CSS.escape(neighbour.dataset.conversationId)}"] .open-conversation`);
    (next || ui.input).focus();
  }

  function onConversationListClick(event) {
    const item = event.target.closest("[data-conversation-id]");
    if (!item) return;
    if (event.target.closest(".delete-conversation")) deleteConversation(item);
    else if (event.target.closest(".open-conversation")) openConversation(item.dataset.conversationId);
  }

  // Opened from a file: the server shows such pages no stored conversations, so the page keeps its own.
  function keepHistoryInPage() {
    document.getElementById("conversations-heading").hidden = true;
    ui.conversationList.hidden = true;
    ui.listEmpty.textContent = "Opened from a file: this conversation is kept in this page only and is not saved.";
    ui.listEmpty.hidden = false;
  }

  // ---- settings ----

  async function loadModels() {
    const { data } = await api.listModels();
    if (!data.length) return;
    const saved = storage.get("model");
    ui.model.replaceChildren(...data.map((model) => new Option(model.id, model.id)));
    // A model saved in the page's settings wins; else the server's default (GET /v1/models marks it).
    const fallback = (data.find((model) => model.default) || data[0]).id;
    ui.model.value = data.some((model) => model.id === saved) ? saved : fallback;
  }

  function restoreTemperature() {
    const saved = parseFloat(storage.get("temperature"));
    const value = Number.isFinite(saved) && saved >= 0 && saved <= 2 ? saved : DEFAULT_TEMPERATURE;
    ui.temperature.value = String(value);
    showTemperature();
  }

  function showTemperature() {
    ui.temperatureValue.textContent = Number(ui.temperature.value).toFixed(1);
  }

  // ---- layout ----

  function setDrawer(open) {
    const isOpen = open && NARROW.matches;
    const wasOpen = ui.app.classList.contains("drawer-open");
    ui.app.classList.toggle("drawer-open", isOpen);
    ui.scrim.hidden = !isOpen;
    ui.drawerToggle.setAttribute("aria-expanded", String(isOpen));
    if (isOpen) (ui.conversationList.querySelector(".open-conversation") || ui.sidebarClose).focus();
    else if (wasOpen && ui.sidebar.contains(document.activeElement)) ui.drawerToggle.focus();
  }

  function setPosterPanel(open) {
    ui.posterPanel.hidden = !open;
    ui.app.classList.toggle("poster-open", open);
    ui.posterToggle.setAttribute("aria-expanded", String(open));
    (open ? ui.posterClose : ui.posterToggle).focus();
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${ui.input.scrollHeight}px`;
  }

  // ---- start ----

  function exportable() {
    return {
      id: state.conversationId || "unsaved",
      title: state.title || "Conversation",
      messages: state.messages.filter((m) => m.content.trim()),
    };
  }

  function bindEvents() {
    ui.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      } else if (event.key === "Escape" && state.stream) {
        event.preventDefault();
        stopStreaming();
      }
    });
    ui.input.addEventListener("input", autosize);
    ui.stop.addEventListener("click", stopStreaming);
    ui.newChat.addEventListener("click", () => newChat());
    ui.reset.addEventListener("click", resetConversation);
    ui.regenerate.addEventListener("click", regenerate);
    ui.exportJson.addEventListener("click", () => exporter.json(exportable()));
    ui.exportMarkdown.addEventListener("click", () => exporter.markdown(exportable()));
    ui.retry.addEventListener("click", () => {
      const again = state.retry;
      hideError();
      if (again) again();
    });
    ui.dismissError.addEventListener("click", hideError);
    ui.conversationList.addEventListener("click", onConversationListClick);
    ui.loadMore.addEventListener("click", () => loadConversations({ more: true }).catch((err) => showError(err.message)));
    ui.model.addEventListener("change", () => storage.set("model", ui.model.value));
    ui.temperature.addEventListener("input", () => {
      showTemperature();
      storage.set("temperature", ui.temperature.value);
    });
    ui.drawerToggle.addEventListener("click", () => setDrawer(!ui.app.classList.contains("drawer-open")));
    ui.sidebarClose.addEventListener("click", () => setDrawer(false));
    ui.scrim.addEventListener("click", () => setDrawer(false));
    NARROW.addEventListener("change", () => setDrawer(false));
    ui.posterToggle.addEventListener("click", () => setPosterPanel(ui.posterPanel.hidden));
    ui.posterClose.addEventListener("click", () => setPosterPanel(false));
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      if (ui.app.classList.contains("drawer-open")) setDrawer(false);
      else if (ui.posterPanel.contains(document.activeElement)) setPosterPanel(false);
    });
    for (const suggestion of document.querySelectorAll(".suggestion")) {
      suggestion.addEventListener("click", () => {
        ui.input.value = suggestion.textContent;
        autosize();
        ui.input.focus();
      });
    }
  }

  // Everything the page needs from the server; Retry runs it all again.
  async function loadAll() {
    hideError();
    const saved = state.conversationId;
    const results = await Promise.allSettled([loadModels(), loadConversations(), saved ? loadConversation(saved) : null]);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) showError(failed.reason.message, loadAll);
  }

  function init() {
    const byId = (id) => document.getElementById(id);
    Object.assign(ui, {
      app: byId("app"),
      sidebar: byId("sidebar"),
      sidebarClose: byId("sidebar-close"),
      drawerToggle: byId("conversations-toggle"),
      scrim: byId("scrim"),
      conversationList: byId("conversation-list"),
      listEmpty: byId("conversations-empty"),
      loadMore: byId("load-more"),
      title: byId("conversation-title"),
      newChat: byId("new-chat"),
      reset: byId("reset"),
      exportJson: byId("export-json"),
      exportMarkdown: byId("export-markdown"),
      posterToggle: byId("poster-toggle"),
      posterPanel: byId("poster-panel"),
      posterClose: byId("poster-close"),
      thread: byId("thread"),
      emptyState: byId("empty-state"),
      messages: byId("messages"),
      error: byId("error"),
      errorMessage: byId("error-message"),
      retry: byId("retry"),
      dismissError: byId("dismiss-error"),
      composer: byId("composer"),
      input: byId("message-input"),
      model: byId("model"),
      temperature: byId("temperature"),
      temperatureValue: byId("temperature-value"),
      send: byId("send"),
      stop: byId("stop"),
      hint: byId("composer-hint"),
      announcer: byId("announcer"),
    });
    ui.regenerate = actionButton("regenerate", "Regenerate", "regenerate");
    ui.regenerate.id = "regenerate";

    state.conversationId = api.stateless ? null : storage.get("conversation");
    if (api.stateless) keepHistoryInPage();
    preview.useConversation(state.conversationId);
    restoreTemperature();
    bindEvents();
    updateChrome();
    loadAll();
  }

  init();
})(window.posterchat = window.posterchat || {});
