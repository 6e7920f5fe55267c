/*
 * SafeSpace demo (/demo/search): plays a platform page. What the tester types goes to the
 * demo's own backend (POST /demo/search/check), and a decision that intervenes is shown
 * with the Deter widget (SafeSpaceDeter.show), as a platform would show it.
 */
(function () {
  "use strict";

  var form = document.getElementById("demo-search");
  var input = document.getElementById("demo-text");
  var result = document.getElementById("demo-result");
  if (!form || !input || !result) return;
  var session = form.getAttribute("data-session") || "";

  function say(text) {
    result.textContent = text;
  }

  function context() {
    var checked = form.querySelector("input[name=context]:checked");
    return checked ? checked.value : "search";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      say("Type something to check.");
      input.focus();
      return;
    }
    say("Checking…");
    fetch("/demo/search/check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ context: context(), text: text, session: session }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (decision) {
        window.demoDecision = decision;
        if (!decision.intervene) {
          say("No warning: a platform would show the results for “" + text + "”.");
          return;
        }
        say("Deter intervened (" + decision.reason + "): the widget is open.");
        window.SafeSpaceDeter.show(decision, {
          onClose: function (outcome) {
            say("The widget closed" + (outcome ? " (outcome: " + outcome + ")." : "."));
            input.focus();
          },
        });
      })
      .catch(function (error) {
        say("Sorry, the check failed: " + error.message);
      });
  });
})();
