/* Client for the posterchat HTTP API: picks the base URL, sends JSON requests and reads streamed answers (SSE over POST). */
(function (pc) {
  "use strict";

  const LOCAL_SERVER = "http://localhost:5000";

  const STATUS_MESSAGES = {
    400: "The request was not accepted.",
    404: "That could not be found.",
    413: "That message is too long.",
    429: "Too many requests right now. Wait a moment, then try again.",
    502: "The assistant is unavailable right now. Try again in a moment.",
    503: "The assistant is unavailable right now. Try again in a moment.",
    504: "The assistant took too long to answer. Try again.",
  };

  class ApiError extends Error {
    constructor(message, { code = "error", status = 0 } = {}) {
      super(message);
      this.name = "ApiError";
      this.code = code;
      this.status = status;
    }
  }

  function httpUrl(value) {
    try {
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) ? url.origin + url.pathname.replace(/\/+$/, "") : null;
    } catch {
      return null;
    }
  }

  // ?api=http://host:port overrides and is remembered; ?api= (empty or invalid) forgets the override.
  function resolveBase() {
    const override = new URLSearchParams(window.location.search).get("api");
    if (override !== null) {
      const url = httpUrl(override);
      if (url) pc.storage.set("api", url);
      else pc.storage.remove("api");
    }
    return pc.storage.get("api") || (window.location.protocol === "file:" ? LOCAL_SERVER : window.location.origin);
  }

  const base = resolveBase();
  // A page opened from a file has the origin `null`, which the server lets chat only with the history the page keeps.
  const stateless = window.location.protocol === "file:";

  function fallbackMessage(status) {
    if (STATUS_MESSAGES[status]) return STATUS_MESSAGES[status];
    if (status >= 500) return "The server ran into a problem. Try again.";
    return `The request failed (HTTP ${status}).`;
  }

  async function errorFrom(response) {
    let detail = null;
    try {
      detail = (await response.json()).error;
    } catch {
      // Not a JSON error body: use the status alone.
    }
    const message = detail && typeof detail.message === "string" && detail.message ? detail.message : fallbackMessage(response.status);
    return new ApiError(message, { code: (detail && detail.code) || `http_${response.status}`, status: response.status });
  }

  async function send(path, { method = "GET", body, signal } = {}) {
    let response;
    try {
      response = await fetch(base + path, {
        method,
        signal,
        headers: body === undefined ? undefined : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(`Can't reach the assistant at ${base}. Check that the server is running, then try again.`, { code: "network" });
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async function json(path, options) {
    const response = await send(path, options);
    return response.status === 204 ? null : response.json();
  }

  // Incremental Server-Sent Events parser: push() text as it arrives, get back complete {type, data} events.
  function sseParser() {
    let buffer = "";
    let type = "";
    let data = [];
    const take = (events) => {
      if (data.length) events.push({ type: type || "message", data: data.join("\n") });
      type = "";
      data = [];
    };
    return {
      push(text, final = false) {
        buffer += text;
        // A trailing "\r" may be the first half of "\r\n": keep it until more text arrives.
        const lines = buffer.split(/\r\n|\n|\r(?!$)/);
        buffer = final ? "" : lines.pop();
        const events = [];
        for (const raw of lines) {
          const line = raw.replace(/\r$/, "");
          if (line === "") take(events);
          else if (!line.startsWith(":")) {
            const colon = line.indexOf(":");
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") type = value;
            else if (field === "data") data.push(value);
          }
        }
        if (final) take(events);
        return events;
      },
    };
  }

  function eventData(event) {
    try {
      return JSON.parse(event.data);
    } catch {
      throw new ApiError("The server sent an answer this page could not read.", { code: "bad_event" });
    }
  }

  /** Streams POST /chat: calls onDelta(text) per token and resolves with the `done` payload. Rejects with AbortError when stopped. */
  async function streamChat(body, { signal, onDelta }) {
    const response = await send("/chat", { method: "POST", body: { ...body, stream: true }, signal });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = sseParser();
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (err.name === "AbortError") throw err;
          throw new ApiError("The connection to the assistant was lost. Try again.", { code: "network" });
        }
        const text = chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
        for (const event of parser.push(text, chunk.done)) {
          if (event.type === "delta") onDelta(eventData(event).text || "");
          else if (event.type === "done") return eventData(event);
          else if (event.type === "error") {
            const error = eventData(event).error || {};
            throw new ApiError(error.message || "The assistant could not answer. Try again.", { code: error.code || "error" });
          }
        }
        if (chunk.done) break;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    throw new ApiError("The answer ended before it was finished. Try again.", { code: "incomplete" });
  }

  pc.api = {
    base,
    stateless,
    ApiError,
    streamChat,
    resetConversation: (id) => json("/chat/reset", { method: "POST", body: { conversation_id: id } }),
    listConversations: (offset, limit) => json(`/conversations?limit=${limit}&offset=${offset}`),
    getConversation: (id) => json(`/conversations/${encodeURIComponent(id)}`),
    deleteConversation: (id) => json(`/conversations/${encodeURIComponent(id)}`, { method: "DELETE" }),
    listModels: () => json("/v1/models"),
    checkPoster: (poster) => json("/poster/check", { method: "POST", body: { poster } }),
  };
})(window.posterchat = window.posterchat || {});
