/*
 * SafeSpace Deter widget: shows a decision from POST /v1/deter/check as an accessible modal
 * dialog (a warning, help services, a blocked upload, or the scripted support chatbot), and
 * reports what the person did with the decision's short-lived token.
 *
 *   <script src="https://safespace.example/v1/deter/widget.js" defer></script>
 *   SafeSpaceDeter.show(decision, {endpoint: "https://safespace.example", token: decision.token,
 *                                  onClose: function (outcome) { ... }});
 *
 * Outcomes: Escape or the close button = "left"; the continue button = "proceeded"; a help
 * link = "clicked_help"; the first chatbot button or message = "engaged_chatbot". Each is
 * sent at most once per dialog. No dependencies; the only requests go to the SafeSpace origin
 * the script was loaded from (or the endpoint given): its stylesheet, outcomes and chat turns.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var scriptUrl = script && script.src ? new URL(script.src, document.baseURI) : null;
  var defaultEndpoint = scriptUrl ? scriptUrl.origin : "";
  var counter = 0;
  var open = null;

  var LABELS = {
    close: "Close",
    proceed: "Continue",
    chat: "Support chat",
    you: "You",
    input: "Type a message",
    send: "Send",
    error: "Sorry, the chat is not available right now.",
    opensNew: "(opens in a new tab)",
  };

  function stylesheetUrl() {
    if (!scriptUrl) return null;
    var path = scriptUrl.pathname;
    if (/widget\.js$/.test(path) && !/deter-widget\.js$/.test(path)) {
      return scriptUrl.origin + path.replace(/widget\.js$/, "widget.css");
    }
    return scriptUrl.origin + path.replace(/js\/deter-widget\.js$/, "css/deter-widget.css");
  }

  function injectStylesheet() {
    var href = stylesheetUrl();
    if (!href || document.querySelector("link[data-safespace-deter]")) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.setAttribute("data-safespace-deter", "");
    document.head.appendChild(link);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function focusables(root) {
    var all = root.querySelectorAll(
      'a[href], button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])'
    );
    return Array.prototype.filter.call(all, function (n) {
      return n.offsetParent !== null || n === document.activeElement;
    });
  }

  function paragraphs(parent, text) {
    String(text || "")
      .split(/\n\s*\n/)
      .forEach(function (part) {
        if (part.trim()) parent.appendChild(el("p", "ssd-p", part.trim()));
      });
  }

  function Dialog(decision, options) {
    this.decision = decision;
    this.options = options;
    this.labels = Object.assign({}, LABELS, options.labels || {});
    this.endpoint = String(options.endpoint || defaultEndpoint).replace(/\/+$/, "");
    this.token = options.token || decision.token || "";
    this.sent = {};
    this.engaged = false;
    this.previous = document.activeElement;
    this.id = "ssd-" + ++counter;
    this.build();
  }

  Dialog.prototype.post = function (path, body) {
    return fetch(this.endpoint + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  };

  Dialog.prototype.outcome = function (name) {
    if (this.sent[name] || !this.decision.event_id || !this.token) return;
    this.sent[name] = true;
    var body = { event_id: this.decision.event_id, token: this.token, outcome: name };
    this.post("/v1/deter/widget/outcomes", body).catch(function () {});
  };

  Dialog.prototype.helpList = function (links) {
    var self = this;
    var list = el("ul", "ssd-help");
    (links || []).forEach(function (link) {
      var item = el("li", "ssd-help-item");
      var a = el("a", "ssd-link", link.name);
      a.href = link.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(el("span", "ssd-visually-hidden", " " + self.labels.opensNew));
      a.addEventListener("click", function () {
        self.outcome("clicked_help");
      });
      item.appendChild(a);
      if (link.phone) item.appendChild(el("span", "ssd-phone", " " + link.phone));
      if (link.description) item.appendChild(el("p", "ssd-desc", link.description));
      list.appendChild(item);
    });
    return list;
  };

  Dialog.prototype.build = function () {
    var self = this;
    var iv = this.decision.intervention || {};
    var backdrop = el("div", "ssd-backdrop");
    var dialog = el("div", "ssd-dialog ssd-kind-" + (iv.kind || "warning"));
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", this.id + "-title");
    dialog.setAttribute("aria-describedby", this.id + "-body");
    var title = el("h2", "ssd-title", iv.title);
    title.id = this.id + "-title";
    title.tabIndex = -1;
    dialog.appendChild(title);
    var body = el("div", "ssd-body");
    body.id = this.id + "-body";
    paragraphs(body, iv.body);
    dialog.appendChild(body);
    if (iv.kind === "chatbot" && iv.chatbot) dialog.appendChild(this.buildChat(iv));
    if (iv.help && iv.help.length) {
      dialog.appendChild(el("h3", "ssd-heading", iv.links_heading));
      dialog.appendChild(this.helpList(iv.help));
    }
    var actions = el("div", "ssd-actions");
    if (iv.kind === "warning" || iv.kind === "chatbot") {
      var proceed = el("button", "ssd-button ssd-proceed", this.labels.proceed);
      proceed.type = "button";
      proceed.addEventListener("click", function () {
        self.close("proceeded");
      });
      actions.appendChild(proceed);
    }
    var close = el("button", "ssd-button ssd-close", this.labels.close);
    close.type = "button";
    close.addEventListener("click", function () {
      self.close("left");
    });
    actions.appendChild(close);
    dialog.appendChild(actions);
    backdrop.appendChild(dialog);
    this.backdrop = backdrop;
    this.dialog = dialog;
    this.title = title;
    this.onKey = function (event) {
      self.key(event);
    };
    this.onFocus = function (event) {
      if (!dialog.contains(event.target)) title.focus();
    };
  };

  Dialog.prototype.buildChat = function (iv) {
    var self = this;
    var section = el("section", "ssd-chat");
    section.setAttribute("aria-label", this.labels.chat);
    if (iv.chatbot_intro) section.appendChild(el("p", "ssd-p ssd-intro", iv.chatbot_intro));
    this.log = el("div", "ssd-log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    section.appendChild(this.log);
    this.controls = el("div", "ssd-chat-controls");
    section.appendChild(this.controls);
    var form = el("form", "ssd-chat-form");
    var label = el("label", "ssd-label", this.labels.input);
    label.htmlFor = this.id + "-input";
    var input = el("input", "ssd-input");
    input.id = this.id + "-input";
    input.type = "text";
    input.maxLength = 1000;
    input.autocomplete = "off";
    var send = el("button", "ssd-button ssd-send", this.labels.send);
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      self.say(text, true);
      self.reply({ text: text });
    });
    this.form = form;
    section.appendChild(form);
    this.turn(iv.chatbot, false);
    return section;
  };

  Dialog.prototype.say = function (text, mine) {
    var p = el("p", mine ? "ssd-msg ssd-mine" : "ssd-msg", "");
    if (mine) p.appendChild(el("span", "ssd-visually-hidden", this.labels.you + ": "));
    p.appendChild(document.createTextNode(text));
    this.log.appendChild(p);
    this.showNewest();
  };

  // The log scrolls on its own: keep the newest message in view after every addition.
  Dialog.prototype.showNewest = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  Dialog.prototype.turn = function (turn, moveFocus) {
    var self = this;
    this.state = turn.state;
    (turn.messages || []).forEach(function (m) {
      self.say(m, false);
    });
    if (turn.help && turn.help.length) {
      this.log.appendChild(this.helpList(turn.help));
      this.showNewest();
    }
    this.controls.textContent = "";
    (turn.buttons || []).forEach(function (b) {
      var button = el("button", "ssd-button ssd-choice", b.label);
      button.type = "button";
      button.setAttribute("data-button", b.id);
      button.addEventListener("click", function () {
        self.say(b.label, true);
        self.reply({ button: b.id });
      });
      self.controls.appendChild(button);
    });
    this.form.hidden = !turn.accepts_text || turn.ended;
    if (moveFocus) {
      var first = this.controls.querySelector("button") || this.log.querySelector("a");
      (first || this.title).focus();
    }
  };

  Dialog.prototype.reply = function (what) {
    var self = this;
    this.outcome("engaged_chatbot");
    var body = { state: this.state, event_id: this.decision.event_id, token: this.token };
    Object.assign(body, what);
    Array.prototype.forEach.call(this.controls.querySelectorAll("button"), function (b) {
      b.disabled = true;
    });
    this.post("/v1/deter/chat", body)
      .then(function (response) {
        if (!response.ok) throw new Error("chat " + response.status);
        return response.json();
      })
      .then(function (turn) {
        self.turn(turn, true);
      })
      .catch(function () {
        self.say(self.labels.error, false);
        self.controls.textContent = "";
        self.title.focus();
      });
  };

  Dialog.prototype.key = function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      this.close("left");
      return;
    }
    if (event.key !== "Tab") return;
    var items = focusables(this.dialog);
    if (!items.length) {
      event.preventDefault();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    var active = document.activeElement;
    if (event.shiftKey && (active === first || active === this.title)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  };

  Dialog.prototype.show = function () {
    document.body.appendChild(this.backdrop);
    document.addEventListener("keydown", this.onKey, true);
    document.addEventListener("focusin", this.onFocus, true);
    this.title.focus();
  };

  Dialog.prototype.close = function (outcome) {
    if (!this.backdrop.parentNode) return;
    if (outcome) this.outcome(outcome);
    document.removeEventListener("keydown", this.onKey, true);
    document.removeEventListener("focusin", this.onFocus, true);
    this.backdrop.parentNode.removeChild(this.backdrop);
    if (open === this) open = null;
    if (this.previous && this.previous.focus && document.contains(this.previous)) {
      this.previous.focus();
    }
    if (typeof this.options.onClose === "function") this.options.onClose(outcome || null);
  };

  function show(decision, options) {
    if (!decision || !decision.intervene || !decision.intervention) return null;
    if (open) open.close(null);
    var dialog = new Dialog(decision, options || {});
    open = dialog;
    dialog.show();
    return {
      element: dialog.dialog,
      close: function () {
        dialog.close("left");
      },
    };
  }

  injectStylesheet();
  window.SafeSpaceDeter = Object.freeze({ show: show, version: "1" });
})();
