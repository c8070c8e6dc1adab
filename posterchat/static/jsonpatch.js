/* JSON Patch (RFC 6902) for the server's design fixes. They use only "add" and "replace" (posterchat/poster/geometry.py
   set_op), so only those are applied; any other op is refused. A patch applies to a copy, whole or not at all. */
(function (pc) {
  "use strict";

  class PatchError extends Error {
    constructor(message) {
      super(message);
      this.name = "PatchError";
    }
  }

  // RFC 6901: "/elements/1/color" → ["elements", "1", "color"]; "~1" is "/" and "~0" is "~".
  function tokens(pointer) {
    if (pointer === "") return [];
    if (typeof pointer !== "string" || !pointer.startsWith("/")) throw new PatchError(`invalid path ${JSON.stringify(pointer)}`);
    return pointer.slice(1).split("/").map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  // An array index token; "-" (one past the end) only where an add may append.
  function index(array, token, path, appending) {
    if (appending && token === "-") return array.length;
    const limit = appending ? array.length : array.length - 1;
    if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) > limit) throw new PatchError(`no index ${token} at ${path}`);
    return Number(token);
  }

  function child(container, token, path) {
    if (Array.isArray(container)) return container[index(container, token, path, false)];
    if (isObject(container) && has(container, token)) return container[token];
    throw new PatchError(`nothing at ${path}`);
  }

  function applyOp(document, op) {
    if (!isObject(op) || (op.op !== "add" && op.op !== "replace")) throw new PatchError(`unsupported op ${JSON.stringify(op && op.op)}`);
    if (!("value" in op)) throw new PatchError(`${op.op} at ${op.path} has no value`);
    const path = tokens(op.path);
    const value = structuredClone(op.value);
    if (!path.length) return value;
    const key = path.pop();
    const parent = path.reduce((node, token) => child(node, token, op.path), document);
    if (Array.isArray(parent)) {
      const at = index(parent, key, op.path, op.op === "add");
      parent.splice(at, op.op === "add" ? 0 : 1, value);
    } else if (isObject(parent) && key !== "__proto__") {
      if (op.op === "replace" && !has(parent, key)) throw new PatchError(`nothing to replace at ${op.path}`);
      parent[key] = value;
    } else {
      throw new PatchError(`cannot set ${op.path}`);
    }
    return document;
  }

  /** The document with the patch applied; the document itself is left as it was. Throws PatchError. */
  function apply(document, patch) {
    if (!Array.isArray(patch)) throw new PatchError("a patch is a list of ops");
    return patch.reduce(applyOp, structuredClone(document));
  }

  pc.jsonPatch = { apply, PatchError };
})(window.posterchat = window.posterchat || {});
