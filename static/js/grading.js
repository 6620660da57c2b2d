// The essay grading page: number keys 1–9 apply or remove rubric items, n/p go to the next/previous
// answer, s saves; the score shown follows the boxes (the server computes the stored one). No text here.
(function () {
  "use strict";
  const form = document.querySelector("[data-grading-form]");
  if (!form) return;
  const max = parseFloat(form.dataset.max) || 0;
  const shown = form.querySelector("[data-score-now]");
  const adjustment = form.querySelector("[data-adjustment]");

  function update() {
    let total = 0;
    form.querySelectorAll("input[name=applied]:checked").forEach(function (box) {
      total += parseFloat(box.dataset.points) || 0;
    });
    total += parseFloat(adjustment && adjustment.value) || 0;
    total = Math.min(Math.max(total, 0), max);
    if (shown) shown.textContent = String(Math.round(total * 100) / 100);
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
        (target.tagName === "INPUT" && target.type !== "checkbox"))) return;
    const key = event.key;
    if (/^[1-9]$/.test(key)) {
      const box = form.querySelector('[data-rubric-key="' + key + '"]');
      if (box) {
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", {bubbles: true}));
        event.preventDefault();
      }
    } else if (key === "n" || key === "p") {
      const link = document.querySelector(key === "n" ? '[data-nav="next"]' : '[data-nav="previous"]');
      if (link) { event.preventDefault(); link.click(); }
    } else if (key === "s") {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
