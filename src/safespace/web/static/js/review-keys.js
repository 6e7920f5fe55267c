// Review item page: single-key shortcuts (c claim, r reveal, y confirm, n false positive,
// e escalate, j next, k previous, ? help), never while typing in a field or with a modifier
// held; a ready reason fills the reason box; Ctrl+Enter in the box decides and claims the next.
"use strict";
(function () {
  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function click(id) {
    const el = document.getElementById(id);
    if (!el) return false;
    el.click();
    return true;
  }

  function choose(radioId, focusId) {
    const radio = document.getElementById(radioId);
    if (!radio) return false;
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    const next = document.getElementById(focusId) || radio;
    next.focus();
    return true;
  }

  const actions = {
    c: function () { return click("claim"); },
    r: function () { return click("reveal"); },
    y: function () { return choose("d-confirm", "category"); },
    n: function () { return choose("d-fp", "reason"); },
    e: function () { return choose("d-esc", "reason"); },
    j: function () { return click("next-item"); },
    k: function () { return click("prev-item"); },
    "?": function () {
      const help = document.getElementById("keyboard-help");
      if (!help) return false;
      help.open = !help.open;
      if (help.open) help.querySelector("summary").focus();
      return true;
    },
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    if (event.defaultPrevented || typing(event.target)) return;
    const act = actions[event.key];
    if (act && act()) event.preventDefault();
  });

  const reason = document.getElementById("reason");
  const preset = document.getElementById("preset");
  if (preset && reason) {
    let filled = "";
    preset.addEventListener("change", function () {
      if (reason.value.trim() === "" || reason.value === filled) {
        reason.value = preset.value;
        filled = preset.value;
      }
    });
  }
  if (reason) {
    reason.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        reason.blur();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        const next = document.getElementById("decide-next");
        if (next) { event.preventDefault(); next.click(); }
      }
    });
  }
})();
