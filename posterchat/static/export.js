/* Client-side export of a conversation as a JSON or Markdown file. */
(function (pc) {
  "use strict";

  function toJson(conversation) {
    const messages = conversation.messages.map((message) => ({
      role: message.role,
      content: message.content,
      ...(message.createdAt && { created_at: message.createdAt }),
      ...(message.state === "stopped" && { stopped: true }),
    }));
    const file = {
      id: conversation.id,
      title: conversation.title,
      exported_at: new Date().toISOString(),
      messages,
    };
    return `${JSON.stringify(file, null, 2)}\n`;
  }

  function toMarkdown(conversation) {
    const parts = [`# ${conversation.title}`];
    for (const message of conversation.messages) {
      const speaker = message.role === "user" ? "You" : "Assistant";
      parts.push(`## ${speaker}${message.state === "stopped" ? " (stopped)" : ""}`, message.content.trim());
    }
    return `${parts.join("\n\n")}\n`;
  }

  function download(filename, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  pc.exporter = {
    json(conversation) {
      download(`conversation-${conversation.id}.json`, toJson(conversation), "application/json");
    },
    markdown(conversation) {
      download(`conversation-${conversation.id}.md`, toMarkdown(conversation), "text/markdown");
    },
  };
})(window.posterchat = window.posterchat || {});
