// Starts ReDoc on /redoc from SafeSpace's own copy (no CDN, no inline script), with theme
// colours that keep text contrast at WCAG 2.2 AA, and names for ReDoc's unlabelled choosers.
/* global Redoc */
(function () {
  "use strict";
  var node = document.getElementById("redoc");
  if (!node || typeof Redoc !== "object") {
    return;
  }
  var theme = {
    colors: {
      primary: { main: "#1f4fa3" },
      success: { main: "#17643f" },
      warning: { main: "#8a4b00" },
      error: { main: "#b3261e" },
      text: { primary: "#1b1b1b", secondary: "#4a4a4a" },
      responses: {
        success: { color: "#17643f", tabTextColor: "#7ee2a8" },
        error: { color: "#b3261e", tabTextColor: "#ff9a93" },
        redirect: { color: "#8a4b00", tabTextColor: "#ffc46b" },
        info: { color: "#1f4fa3", tabTextColor: "#9fc3ff" },
      },
      http: {
        get: "#175a9e",
        post: "#17643f",
        put: "#8a4b00",
        options: "#5c3d99",
        patch: "#116a5c",
        delete: "#b3261e",
        basic: "#4a4a4a",
        link: "#1f4fa3",
        head: "#5c3d99",
      },
    },
    typography: {
      code: { color: "#a1261c", backgroundColor: "#f4f5f5" },
      links: { color: "#1f4fa3", visited: "#1f4fa3", hover: "#173d80" },
    },
    sidebar: { textColor: "#1b1b1b" },
  };

  // ReDoc's content-type and example choosers are <select>s with no name of their own.
  function nameSelects(root) {
    var selects = root.querySelectorAll("select:not([aria-label]):not([aria-labelledby])");
    for (var i = 0; i < selects.length; i++) {
      var select = selects[i];
      var where = select.closest("h5") ? "Content type" : "Example or content type";
      select.setAttribute("aria-label", where);
    }
  }
  new MutationObserver(function () {
    nameSelects(node);
  }).observe(node, { childList: true, subtree: true });

  Redoc.init(node.getAttribute("data-openapi"), { theme: theme }, node);
})();
