/* JSON Patch (RFC 6902) for the server's design fixes, applied by fast-json-patch to a copy, whole or not at all.
   Fixes use only "add" and "replace" (posterchat/poster/geometry.py set_op); any other op is refused. */
(function (pc) {
  "use strict";

  class PatchError extends Error {
    constructor(message) {
      super(message);
      this.name = "PatchError";
    }
  }

  /** The document with the patch applied; the document itself is left as it was. Throws PatchError. */
  function apply(document, patch) {
    if (!Array.isArray(patch)) throw new PatchError("a patch is a list of ops");
    const refused = patch.find((op) => op === null || typeof op !== "object" || !["add", "replace"].includes(op.op));
    if (refused !== undefined) throw new PatchError(`unsupported op ${JSON.stringify(refused && refused.op)}`);
    try {
      return jsonpatch.applyPatch(structuredClone(document), structuredClone(patch), true, true, true).newDocument;
    } catch (error) {
      const at = error.operation ? ` at ${error.operation.path}` : "";
      throw new PatchError(`${error.message.split("\n")[0]}${at}`);
    }
  }

  pc.jsonPatch = { apply, PatchError };
})(window.posterchat = window.posterchat || {});
