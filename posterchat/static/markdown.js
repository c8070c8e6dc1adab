/* A small, safe Markdown renderer: model text only ever becomes DOM nodes via createElement and text nodes. */
(function (pc) {
  "use strict";

  const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]{0,30})/;
  const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
  const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  const QUOTE = /^ {0,3}> ?(.*)$/;
  const ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
  const BARE_URL = /^https?:\/\/[^\s<>"'`]+/i;
  const ESCAPABLE = /[\\`*_{}[\]()#+\-.!<>~|]/;
  const WORD = /[\p{L}\p{N}]/u;

  function el(tag) {
    return document.createElement(tag);
  }

  /** The normalised href for http(s) and mailto URLs; null for every other scheme (javascript:, data:, relative…). */
  function safeUrl(raw) {
    const text = raw.trim();
    if (!/^(https?:\/\/|mailto:)/i.test(text)) return null;
    try {
      const url = new URL(text);
      return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
    } catch {
      return null;
    }
  }

  function render(source) {
    const fragment = document.createDocumentFragment();
    const lines = String(source)
      .replace(/\r\n?/g, "\n")
      .split("\n")
      .map((line) => line.replace(/^\t+/, (tabs) => "    ".repeat(tabs.length)));
    appendBlocks(fragment, lines);
    return fragment;
  }

  function appendBlocks(parent, lines) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let match;
      if (!line.trim()) i += 1;
      else if ((match = FENCE.exec(line))) i = appendCode(parent, lines, i, match);
      else if ((match = HEADING.exec(line))) i = appendHeading(parent, i, match);
      else if (RULE.test(line)) {
        parent.append(el("hr"));
        i += 1;
      } else if (QUOTE.test(line)) i = appendQuote(parent, lines, i);
      else if (ITEM.test(line)) i = appendList(parent, lines, i);
      else i = appendParagraph(parent, lines, i);
    }
  }

  function startsBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
  }

  function indentOf(line) {
    return line.length - line.trimStart().length;
  }

  function appendHeading(parent, index, match) {
    const heading = el(`h${match[1].length}`);
    appendInline(heading, match[2] || "");
    parent.append(heading);
    return index + 1;
  }

  // An unclosed fence runs to the end, so a code block renders while it is still streaming.
  function appendCode(parent, lines, start, match) {
    const [, fence, lang] = match;
    const closing = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
    const body = [];
    let i = start + 1;
    while (i < lines.length && !closing.test(lines[i])) body.push(lines[i++]);
    const pre = el("pre");
    const code = el("code");
    code.textContent = body.join("\n");
    if (lang) pre.dataset.lang = lang;
    pre.append(code);
    parent.append(pre);
    return i + 1;
  }

  function appendQuote(parent, lines, start) {
    const inner = [];
    let i = start;
    let match;
    while (i < lines.length && (match = QUOTE.exec(lines[i]))) {
      inner.push(match[1]);
      i += 1;
    }
    const quote = el("blockquote");
    appendBlocks(quote, inner);
    parent.append(quote);
    return i;
  }

  function appendParagraph(parent, lines, start) {
    const text = [lines[start].trim()];
    let i = start + 1;
    while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) text.push(lines[i++].trim());
    const paragraph = el("p");
    appendInline(paragraph, text.join("\n"));
    parent.append(paragraph);
    return i;
  }

  function appendList(parent, lines, start) {
    const first = ITEM.exec(lines[start]);
    const indent = first[1].length;
    const ordered = /\d/.test(first[2]);
    const isSibling = (line) => {
      const match = ITEM.exec(line);
      return Boolean(match) && match[1].length === indent && /\d/.test(match[2]) === ordered;
    };
    const items = [];
    let loose = false;
    let i = start;
    while (i < lines.length && isSibling(lines[i])) {
      const match = ITEM.exec(lines[i]);
      const contentIndent = indent + match[2].length + 1;
      const body = [match[3] || ""];
      i += 1;
      while (i < lines.length) {
        const line = lines[i];
        if (!line.trim()) {
          let next = i;
          while (next < lines.length && !lines[next].trim()) next += 1;
          if (next < lines.length && indentOf(lines[next]) > indent) {
            while (i < next) body.push(lines[i++].trim());
            continue;
          }
          if (next < lines.length && isSibling(lines[next])) loose = true;
          i = next;
          break;
        }
        if (indentOf(line) > indent) body.push(line.slice(Math.min(indentOf(line), contentIndent)));
        else if (!startsBlock(line) && body[body.length - 1].trim()) body.push(line.trim());
        else break;
        i += 1;
      }
      items.push(body);
    }

    const list = el(ordered ? "ol" : "ul");
    const startNumber = parseInt(first[2], 10);
    if (ordered && startNumber !== 1) list.start = startNumber;
    for (const body of items) {
      const item = el("li");
      appendBlocks(item, body);
      if (!loose) unwrapParagraphs(item);
      list.append(item);
    }
    parent.append(list);
    return i;
  }

  function unwrapParagraphs(item) {
    for (const paragraph of [...item.children].filter((child) => child.tagName === "P")) {
      paragraph.replaceWith(...paragraph.childNodes);
    }
  }

  function appendInline(parent, text, allowLinks = true) {
    let plain = "";
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === "\\" && ESCAPABLE.test(text[i + 1] || "")) {
        plain += text[i + 1];
        i += 2;
        continue;
      }
      const token = matchInline(text, i, allowLinks);
      if (!token) {
        plain += ch;
        i += 1;
        continue;
      }
      if (plain) parent.append(plain);
      plain = "";
      parent.append(token.node);
      i = token.end;
    }
    if (plain) parent.append(plain);
  }

  function matchInline(text, i, allowLinks) {
    const ch = text[i];
    if (ch === "\n") return { node: el("br"), end: i + 1 };
    if (ch === "`") return codeSpan(text, i);
    if (ch === "*" || ch === "_") return emphasis(text, i, allowLinks);
    if (!allowLinks) return null;
    if (ch === "[") return link(text, i);
    if (ch === "!" && text[i + 1] === "[") return link(text, i + 1); // images are shown as links
    if (ch === "<") return autolink(text, i);
    if ((ch === "h" || ch === "H") && !WORD.test(text[i - 1] || "")) return bareUrl(text, i);
    return null;
  }

  function runLength(text, i, ch) {
    let end = i;
    while (text[end] === ch) end += 1;
    return end - i;
  }

  function codeSpan(text, i) {
    const size = runLength(text, i, "`");
    let j = i + size;
    while (j < text.length) {
      if (text[j] !== "`") {
        j += 1;
        continue;
      }
      const run = runLength(text, j, "`");
      if (run === size) {
        let content = text.slice(i + size, j).replace(/\n/g, " ");
        if (/^ .* $/.test(content) && content.trim()) content = content.slice(1, -1);
        const code = el("code");
        code.textContent = content;
        return { node: code, end: j + size };
      }
      j += run;
    }
    return { node: text.slice(i, i + size), end: i + size };
  }

  // *em*, **strong**, ***both*** (and the _ forms, which do not open or close inside words).
  function emphasis(text, i, allowLinks) {
    const ch = text[i];
    const size = runLength(text, i, ch);
    const literal = { node: text.slice(i, i + size), end: i + size };
    const next = text[i + size] || " ";
    if (size > 3 || !next.trim() || (ch === "_" && WORD.test(text[i - 1] || ""))) return literal;
    let j = i + size;
    while (j < text.length) {
      if (text[j] !== ch) {
        j += 1;
        continue;
      }
      const run = runLength(text, j, ch);
      const closes = run === size && text[j - 1].trim() && !(ch === "_" && WORD.test(text[j + run] || ""));
      if (closes) {
        const inner = size === 2 ? el("strong") : el("em");
        appendInline(inner, text.slice(i + size, j), allowLinks);
        let node = inner;
        if (size === 3) {
          node = el("strong");
          node.append(inner);
        }
        return { node, end: j + size };
      }
      j += run;
    }
    return literal;
  }

  function closingIndex(text, start, open, close) {
    let depth = 0;
    for (let i = start; i < text.length; i += 1) {
      if (text[i] === "\\") i += 1;
      else if (text[i] === open) depth += 1;
      else if (text[i] === close && --depth === 0) return i;
    }
    return -1;
  }

  function anchor(href) {
    const a = el("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  // [label](url "title"); a link to any scheme other than http(s)/mailto stays as its plain source text.
  function link(text, i) {
    const labelEnd = closingIndex(text, i, "[", "]");
    if (labelEnd === -1 || text[labelEnd + 1] !== "(") return null;
    const targetEnd = closingIndex(text, labelEnd + 1, "(", ")");
    if (targetEnd === -1) return null;
    const target = text.slice(labelEnd + 2, targetEnd).trim().split(/\s+/)[0] || "";
    const href = safeUrl(target.replace(/^<(.*)>$/, "$1"));
    if (!href) return { node: text.slice(i, targetEnd + 1), end: targetEnd + 1 };
    const a = anchor(href);
    appendInline(a, text.slice(i + 1, labelEnd), false);
    return { node: a, end: targetEnd + 1 };
  }

  function autolink(text, i) {
    const match = /^<([^\s<>]+)>/.exec(text.slice(i));
    const href = match && safeUrl(match[1]);
    if (!href) return null;
    const a = anchor(href);
    a.textContent = match[1].replace(/^mailto:/i, "");
    return { node: a, end: i + match[0].length };
  }

  function bareUrl(text, i) {
    const match = BARE_URL.exec(text.slice(i));
    if (!match) return null;
    let url = match[0];
    const count = (s, c) => s.split(c).length - 1;
    while (/[.,;:!?*_~'")\]]$/.test(url)) {
      if (url.endsWith(")") && count(url, "(") >= count(url, ")")) break;
      url = url.slice(0, -1);
    }
    const href = safeUrl(url);
    if (!href) return null;
    const a = anchor(href);
    a.textContent = url;
    return { node: a, end: i + url.length };
  }

  pc.markdown = { render, safeUrl };
})(window.posterchat = window.posterchat || {});
