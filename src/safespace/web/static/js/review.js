// Review console: reveal blurred media on a click (each reveal is a counted, CSRF-checked
// POST), blur again when the pointer leaves or after a few seconds. No media plays sound.
"use strict";
(function () {
  const box = document.querySelector(".protected-media");
  if (!box) return;
  const media = box.querySelector("#media");
  const button = box.querySelector("#reveal");
  const seconds = Number(box.dataset.seconds || "4");
  let timer = null;

  function blur() {
    media.classList.remove("revealed");
    media.classList.add("protected");
    if (timer) { clearTimeout(timer); timer = null; }
  }

  function show() {
    media.classList.remove("protected");
    media.classList.add("revealed");
    if (media.tagName === "VIDEO") media.muted = true;
    timer = setTimeout(blur, seconds * 1000);
  }

  async function post(confirmed) {
    const body = new URLSearchParams({ csrf_token: box.dataset.csrf, confirmed: confirmed ? "yes" : "" });
    const response = await fetch("/console/items/" + box.dataset.item + "/reveal", {
      method: "POST", body: body, credentials: "same-origin",
    });
    return { status: response.status, data: await response.json() };
  }

  async function reveal() {
    let result = await post(false);
    if (result.status === 409 && result.data.needs_confirmation) {
      const ok = window.confirm("You have revealed " + result.data.count + " items today, past the limit of " +
        result.data.cap + ". Reveal this one anyway?");
      if (!ok) return;
      result = await post(true);
    }
    if (result.status !== 200) return;
    const count = document.getElementById("reveal-count");
    if (count) count.textContent = "You have revealed " + result.data.count + " items today; the daily limit is " + result.data.cap + ".";
    show();
  }

  media.addEventListener("click", reveal);
  button.addEventListener("click", reveal);
  media.addEventListener("mouseleave", blur);
  if (media.tagName === "VIDEO") {
    media.muted = true;
    media.addEventListener("volumechange", function () { media.muted = true; });
  }
})();
