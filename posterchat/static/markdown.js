/* Markdown for model answers: marked parses it (GitHub-flavoured), DOMPurify keeps only safe elements. Raw HTML,
   images and links to anything but http(s) and mailto stay visible as the text the model wrote. */
(function (pc) {
  "use strict";

  const SAFE_URL = /^(?:https?:|mailto:)/i;
  const escape = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const parser = new marked.Marked({ gfm: true });
  parser.use({
    renderer: {
      html: ({ text }) => escape(text),
      image: ({ raw }) => escape(raw), // an image would be fetched from wherever the model pointed
      link: ({ href, raw }) => (SAFE_URL.test(href.trim()) ? false : escape(raw)), // false: marked's own link
    },
  });

  const purifier = DOMPurify(window);
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName !== "A") return;
    try {
      node.setAttribute("href", new URL(node.getAttribute("href")).href);
    } catch {
      node.removeAttribute("href");
    }
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  });
  const POLICY = {
    RETURN_DOM_FRAGMENT: true, ALLOWED_URI_REGEXP: SAFE_URL,
    FORBID_TAGS: ["img", "svg", "math", "style", "form", "input", "button", "textarea", "select"],
  };

  /** The answer as a DocumentFragment of safe elements. */
  function render(source) {
    return purifier.sanitize(parser.parse(String(source)), POLICY);
  }

  pc.markdown = { render };
})(window.posterchat = window.posterchat || {});
