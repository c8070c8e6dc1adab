/* localStorage under a "posterchat." prefix; storage may be unavailable (private modes, file pages), so failures are ignored. */
(function (pc) {
  "use strict";

  const PREFIX = "posterchat.";

  pc.storage = {
    get(key) {
      try {
        return window.localStorage.getItem(PREFIX + key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(PREFIX + key, String(value));
      } catch {
        // Not remembered: the setting still applies for this visit.
      }
    },
    remove(key) {
      try {
        window.localStorage.removeItem(PREFIX + key);
      } catch {
        // Nothing stored to remove.
      }
    },
  };
})(window.posterchat = window.posterchat || {});
