/*
 * The self-report pages (/report, /report/status). Files are hashed on this device with
 * SafeSpaceHashing (hashing.js); only the hashes and the person's answers are sent, as JSON,
 * to /v1/self-reports. File names and bytes never leave the page. No timeouts: people take
 * the time they need.
 */
(function () {
  "use strict";

  var MAX_FILES = 20;
  var MAX_URLS = 10;
  var FIELD = { age: "age-field", case: "case-number-input", pin: "pin-input" };

  function $(id) {
    return document.getElementById(id);
  }

  function showError(id, text) {
    var el = $(id + "-error");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
    var field = $(FIELD[id] || id);
    if (field && field.tagName !== "FIELDSET") {
      if (text) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    }
  }

  function summary(messages) {
    var box = $("form-error");
    box.textContent = "";
    if (!messages.length) {
      box.hidden = true;
      return;
    }
    var p = document.createElement("p");
    p.textContent = messages.length === 1 ? "Please check this:" : "Please check these:";
    box.appendChild(p);
    var ul = document.createElement("ul");
    messages.forEach(function (m) {
      var li = document.createElement("li");
      if (m.target) {
        var a = document.createElement("a");
        a.href = "#" + m.target;
        a.textContent = m.text;
        li.appendChild(a);
      } else {
        li.textContent = m.text;
      }
      ul.appendChild(li);
    });
    box.appendChild(ul);
    box.hidden = false;
    box.focus();
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer",
      cache: "no-store",
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
    });
  }

  function fillList(ul, items, render) {
    ul.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      render(li, item);
      ul.appendChild(li);
    });
  }

  /* --- /report ------------------------------------------------------------------------ */

  function reportPage(form) {
    var input = $("files");
    var hashed = []; // {name, result}: the name is only shown here, never sent
    var busy = false;

    function fileMessage(r) {
      if (r.media_kind === "video") return "ready (video)";
      if (r.media_kind === "image" && r.pdq) return "ready";
      if (r.media_kind === "image") {
        return (
          "this picture can't be read on this device. Take a screenshot of it, or save it " +
          "as a JPEG, and pick that copy as well. Please don't upload it anywhere."
        );
      }
      return "this is not a picture or video we can use, so it will not be sent.";
    }

    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      hashed = [];
      showError("files", "");
      var list = $("file-list");
      list.textContent = "";
      if (files.length > MAX_FILES) {
        showError("files", "Please pick at most " + MAX_FILES + " files at a time.");
        return;
      }
      if (!files.length) return;
      busy = true;
      var wrap = $("progress-wrap");
      var bar = $("progress");
      var text = $("progress-text");
      wrap.hidden = false;
      bar.max = files.length;
      bar.value = 0;
      text.textContent = "Making fingerprints on your device: 0 of " + files.length + ".";
      var chain = Promise.resolve();
      files.forEach(function (file, i) {
        chain = chain.then(function () {
          return SafeSpaceHashing.hashFile(file)
            .catch(function () {
              return { media_kind: "unknown", pdq: null, md5: null };
            })
            .then(function (r) {
              hashed.push({ name: file.name, result: r });
              var li = document.createElement("li");
              li.textContent = file.name + ": " + fileMessage(r);
              if (!(r.md5 && (r.media_kind === "video" || r.pdq))) li.className = "warn";
              list.appendChild(li);
              bar.value = i + 1;
              text.textContent =
                "Making fingerprints on your device: " + (i + 1) + " of " + files.length + ".";
            });
        });
      });
      chain.then(function () {
        busy = false;
        wrap.hidden = true;
        text.textContent = "Fingerprints ready for " + usable().length + " of " + files.length + " files.";
      });
    });

    function usable() {
      return hashed
        .map(function (h) {
          return h.result;
        })
        .filter(function (r) {
          return r.md5 && (r.media_kind === "image" || r.media_kind === "video");
        });
    }

    function ageBand() {
      var checked = form.querySelector('input[name="age_band"]:checked');
      return checked ? checked.value : null;
    }

    function validUrl(text) {
      try {
        var u = new URL(text);
        return (u.protocol === "https:" || u.protocol === "http:") && !!u.hostname;
      } catch (e) {
        return false;
      }
    }

    // An error goes as soon as its field is changed: a fixed answer must not stay marked
    // wrong until the next Send. The summary goes with the last error.
    [
      ["age", "age-field", "change"],
      ["urls", "urls", "input"],
      ["email", "email", "input"],
    ].forEach(function (spec) {
      var field = $(spec[1]);
      if (!field) return;
      field.addEventListener(spec[2], function () {
        showError(spec[0], "");
        var open = ["files", "age", "urls", "email"].some(function (id) {
          var el = $(id + "-error");
          return el && !el.hidden;
        });
        if (!open) summary([]);
      });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var problems = [];
      ["files", "age", "urls", "email"].forEach(function (id) {
        showError(id, "");
      });
      if (busy) {
        showError("files", "Please wait until the fingerprints are ready.");
        problems.push({ target: "files", text: "Wait until the fingerprints are ready." });
      } else if (!usable().length) {
        showError("files", "Please pick at least one picture or video.");
        problems.push({ target: "files", text: "Pick at least one picture or video." });
      }
      var band = ageBand();
      if (!band) {
        showError("age", "Please choose an age, or \u201cI'd rather not say\u201d.");
        problems.push({ target: "age-under-13", text: "Choose an age." });
      }
      var urls = $("urls")
        .value.split(/\s+/)
        .filter(function (u) {
          return u.length > 0;
        });
      if (urls.length > MAX_URLS || urls.some(function (u) { return !validUrl(u); })) {
        showError("urls", "Please give at most 10 web addresses, each starting with https://.");
        problems.push({ target: "urls", text: "Check the web addresses." });
      }
      var email = $("email").value.trim();
      if (email && !/^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$/.test(email)) {
        showError("email", "Please check the email address, or leave it empty.");
        problems.push({ target: "email", text: "Check the email address." });
      }
      if (problems.length) {
        summary(problems);
        return;
      }
      summary([]);
      var body = {
        items: usable().map(function (r) {
          var image = r.media_kind === "image";
          return {
            md5: r.md5,
            media_kind: r.media_kind,
            pdq: image ? r.pdq : null,
            pdq_quality: image && r.pdq ? r.pdq_quality : null,
          };
        }),
        age_band: band,
        seen_at_urls: urls,
        contact: email ? { email: email } : null,
        locale: document.documentElement.getAttribute("data-locale") || "en",
      };
      var button = $("submit");
      button.disabled = true;
      button.textContent = "Sending\u2026";
      postJson("/v1/self-reports", body)
        .then(function (res) {
          if (!res.ok) {
            var detail = res.data && res.data.detail ? res.data.detail : "something went wrong";
            var text =
              res.status === 429
                ? "Too many reports from this connection just now. Please try again in a few minutes."
                : "We could not take your report (" + detail + "). Please try again.";
            summary([{ text: text }]);
            return;
          }
          showResult(res.data);
        })
        .catch(function () {
          summary([{ text: "We could not reach the service. Check your connection and try again." }]);
        })
        .then(function () {
          button.disabled = false;
          button.textContent = "Send the fingerprints";
        });
    });

    function showResult(data) {
      $("case-number").textContent = data.case_number;
      $("pin").textContent = data.pin;
      fillList($("next-steps"), data.next_steps || [], function (li, text) {
        li.textContent = text;
      });
      fillList($("result-help"), data.help || [], function (li, svc) {
        var a = document.createElement("a");
        a.href = svc.url;
        a.rel = "noreferrer noopener";
        a.textContent = svc.name;
        li.appendChild(a);
        li.appendChild(document.createTextNode(": " + svc.text));
      });
      codes(data.case_number, data.pin);
      form.hidden = true;
      input.value = "";
      hashed = [];
      var result = $("result");
      result.hidden = false;
      // The form above has gone: bring the result's top (and so the case number and PIN)
      // onto the screen, then give it focus without scrolling again.
      result.scrollIntoView({ block: "start" });
      result.focus({ preventScroll: true });
    }
  }

  // "Copy them" and "Save them as a file" for the case number and PIN, shown only once.
  function codes(caseNumber, pin) {
    var text = "SafeSpace report\nCase number: " + caseNumber + "\nPIN: " + pin + "\n" +
      "Check or withdraw it at " + window.location.origin + "/report/status\n";
    var say = $("codes-status");
    var save = $("save-codes");
    if (save) {
      if (save.dataset.url) URL.revokeObjectURL(save.dataset.url);
      save.dataset.url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
      save.href = save.dataset.url;
      save.onclick = function () {
        say.textContent = "Saved as safespace-report.txt in your downloads.";
      };
    }
    var copy = $("copy-codes");
    if (!copy) return;
    copy.onclick = function () {
      function selectThem() {
        var range = document.createRange();
        range.selectNodeContents(document.querySelector("#result .codes"));
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        say.textContent = "They are selected: copy them with your device's Copy.";
      }
      if (!navigator.clipboard || !window.isSecureContext) return selectThem();
      navigator.clipboard.writeText(text).then(function () {
        say.textContent = "Copied. Paste them somewhere only you can see.";
      }, selectThem);
    };
  }

  /* --- /report/status ----------------------------------------------------------------- */

  // What each stored status means, in the words a young person reads on the page.
  var STATUS_WORDS = {
    received: "Received",
    "under-review": "Being looked at by our team",
    actioned: "Acted on",
    withdrawn: "Withdrawn",
  };
  // And what the young person can do from there.
  var NEXT_STEPS = {
    received:
      "Nothing more is needed from you. Copies of these pictures are blocked here while our " +
      "team looks at your report. Check again any time, or withdraw it if you change your mind.",
    "under-review":
      "Nothing more is needed from you. Check again any time, or withdraw it if you change " +
      "your mind.",
    actioned:
      "Nothing more is needed from you, and copies stay blocked here. If you see the " +
      "pictures somewhere else, the organisations listed on the report page can help.",
    withdrawn:
      "Your report is closed and its fingerprints are off our block list. You can make a new " +
      "report at any time.",
  };

  function statusPage(form) {
    function values() {
      var c = $("case-number-input").value.trim();
      var p = $("pin-input").value.trim();
      showError("case", c ? "" : "Please enter your case number.");
      showError("pin", p ? "" : "Please enter your PIN.");
      var problems = [];
      if (!c) problems.push({ target: "case-number-input", text: "Enter your case number." });
      if (!p) problems.push({ target: "pin-input", text: "Enter your PIN." });
      summary(problems);
      return problems.length ? null : { case_number: c, pin: p };
    }

    function send(url, body) {
      return postJson(url, body).then(function (res) {
        if (res.ok) {
          $("confirm").hidden = true;
          $("outcome-case").textContent = res.data.case_number;
          $("outcome-status").textContent = STATUS_WORDS[res.data.status] || res.data.status;
          $("outcome-message").textContent = res.data.message;
          $("outcome-next").textContent = NEXT_STEPS[res.data.status] || "";
          $("outcome-new").hidden = res.data.status !== "withdrawn";
          // The PIN is hidden again once it has been used.
          $("pin-input").type = "password";
          $("show-pin").checked = false;
          var box = $("outcome");
          box.hidden = false;
          box.focus();
        } else if (res.status === 429) {
          summary([{ text: "Too many tries just now. Please wait a few minutes and try again." }]);
        } else {
          summary([
            {
              text:
                "We could not find a report with that case number and PIN. Please check both. " +
                "After several wrong tries a report is locked for a while.",
            },
          ]);
        }
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = values();
      if (body) send("/v1/self-reports/status", body);
    });
    $("show-pin").addEventListener("change", function () {
      $("pin-input").type = this.checked ? "text" : "password";
    });
    $("withdraw").addEventListener("click", function () {
      if (!values()) return;
      $("outcome").hidden = true;
      var box = $("confirm");
      box.hidden = false;
      box.focus();
    });
    $("confirm-no").addEventListener("click", function () {
      $("confirm").hidden = true;
      $("withdraw").focus();
    });
    $("confirm-yes").addEventListener("click", function () {
      var body = values();
      if (body) send("/v1/self-reports/withdraw", body);
    });
  }

  function start() {
    var report = $("report-form");
    if (report) reportPage(report);
    var status = $("status-form");
    if (status) statusPage(status);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
