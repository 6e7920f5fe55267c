// Review queue page: a "select every row on this page" box for the bulk actions. Without
// script, rows are ticked one by one; nothing changes until the confirm page.
"use strict";
(function () {
  const table = document.getElementById("queue");
  const actions = document.getElementById("bulk-actions");
  if (!table || !actions) return;
  const boxes = table.querySelectorAll('input[type="checkbox"][name="items"]');
  if (!boxes.length) return;
  const p = document.createElement("p");
  const all = document.createElement("input");
  all.type = "checkbox";
  all.id = "select-all";
  const label = document.createElement("label");
  label.htmlFor = "select-all";
  label.textContent = "Select every item on this page";
  p.append(all, " ", label);
  actions.insertBefore(p, actions.querySelector("legend").nextSibling);
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
})();
