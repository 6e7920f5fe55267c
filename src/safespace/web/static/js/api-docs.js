// Starts Swagger UI on /docs from SafeSpace's own copy (no CDN, no inline script).
/* global SwaggerUIBundle */
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || typeof SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    // No deep links: their anchors sit inside the operation buttons (nested controls).
    deepLinking: false,
    validatorUrl: null, // no badge from the online validator: nothing leaves for a third party
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
