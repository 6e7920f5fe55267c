/*
 * SafeSpace contact widget: shows a supportive prompt from /v1/contact (check, events or
 * prompts) to a child, as a card in the page, with help services and the actions that fit
 * the moment, and reports what the child chose with the prompt's short-lived token.
 *
 *   <script src="https://safespace.example/v1/contact/widget.js" defer></script>
 *   SafeSpaceContact.show(decision.prompts.target, {
 *     onAction: function (action) { ... }   // "block", "report", "accept", "ignore", ...
 *   });
 *
 * The platform does what the child chose (blocking is the platform's job); the widget only
 * tells SafeSpace which outcome followed the prompt, at most once each: "blocked",
 * "reported", "accepted", "restored_default", "clicked_help". No dependencies; the only
 * requests go to the SafeSpace origin the script was loaded from (or the endpoint given).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var scriptUrl = script && script.src ? new URL(script.src, document.baseURI) : null;
  var defaultEndpoint = scriptUrl ? scriptUrl.origin : "";
  var counter = 0;

  // Each action: its label, the outcome it records (or none), and whether it closes the card.
  var ACTIONS = {
    accept: { label: "Accept", outcome: "accepted" },
    ignore: { label: "Ignore", outcome: null },
    block: { label: "Block", outcome: "blocked" },
    report: { label: "Report", outcome: "reported" },
    restore: { label: "Turn it back on", outcome: "restored_default" },
    keep: { label: "Keep my choice", outcome: null },
    ok: { label: "OK", outcome: null },
  };
  var BY_MOMENT = {
    "request-from-stranger": ["ignore", "block", "report", "accept"],
    "message-request-from-stranger": ["ignore", "block", "report", "accept"],
    "after-block": ["ok"],
    "after-report": ["ok"],
    "default-turned-off": ["restore", "keep"],
  };

  function injectStylesheet() {
    if (!scriptUrl || document.querySelector("link[data-safespace-contact]")) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = scriptUrl.origin + scriptUrl.pathname.replace(/\.js$/, ".css");
    link.setAttribute("data-safespace-contact", "");
    document.head.appendChild(link);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function Card(prompt, options) {
    this.prompt = prompt;
    this.options = options || {};
    this.endpoint = (this.options.endpoint || defaultEndpoint).replace(/\/$/, "");
    this.token = this.options.token || prompt.token || null;
    this.sent = {};
    this.previous = document.activeElement;
  }

  Card.prototype.record = function (outcome) {
    if (!outcome || this.sent[outcome] || !this.prompt.event_id || !this.token) return;
    this.sent[outcome] = true;
    fetch(this.endpoint + "/v1/contact/widget/outcomes", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event_id: this.prompt.event_id, token: this.token, outcome: outcome }),
    }).catch(function () {});
  };

  Card.prototype.build = function () {
    var self = this;
    var id = "ssc-" + ++counter;
    var card = el("section", "ssc-card");
    card.setAttribute("aria-labelledby", id + "-title");
    card.setAttribute("data-moment", this.prompt.moment || "");
    var title = el("h2", "ssc-title", this.prompt.title);
    title.id = id + "-title";
    title.tabIndex = -1;
    card.appendChild(title);
    card.appendChild(el("p", "ssc-text", this.prompt.text));
    var help = this.prompt.help || [];
    if (help.length) {
      card.appendChild(el("p", "ssc-help-intro", "You can talk to someone:"));
      var list = el("ul", "ssc-help");
      help.forEach(function (service) {
        var item = el("li");
        var link = el("a", "ssc-link", service.name);
        link.href = service.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.addEventListener("click", function () {
          self.record("clicked_help");
        });
        item.appendChild(link);
        if (service.text) item.appendChild(el("span", "ssc-help-text", " " + service.text));
        list.appendChild(item);
      });
      card.appendChild(list);
    }
    var actions = el("div", "ssc-actions");
    var names = this.options.actions || BY_MOMENT[this.prompt.moment] || ["ok"];
    names.forEach(function (name) {
      var action = ACTIONS[name];
      if (!action) return;
      var button = el("button", "ssc-button ssc-" + name, action.label);
      button.type = "button";
      button.addEventListener("click", function () {
        self.record(action.outcome);
        self.close(name);
      });
      actions.appendChild(button);
    });
    card.appendChild(actions);
    card.addEventListener("keydown", function (event) {
      if (event.key === "Escape") self.close("dismiss");
    });
    this.node = card;
    return card;
  };

  Card.prototype.close = function (action) {
    if (!this.node) return;
    var node = this.node;
    this.node = null;
    if (node.parentNode) node.parentNode.removeChild(node);
    if (this.previous && this.previous.focus && document.contains(this.previous)) {
      this.previous.focus();
    }
    if (typeof this.options.onAction === "function") this.options.onAction(action);
  };

  function show(prompt, options) {
    if (!prompt || !prompt.title) return null;
    injectStylesheet();
    var card = new Card(prompt, options);
    var container = (options && options.container) || null;
    if (typeof container === "string") container = document.querySelector(container);
    var node = card.build();
    if (container) {
      container.appendChild(node);
    } else {
      node.classList.add("ssc-floating");
      document.body.appendChild(node);
    }
    node.querySelector(".ssc-title").focus();
    return { close: function () { card.close("dismiss"); } };
  }

  window.SafeSpaceContact = { show: show };
})();
