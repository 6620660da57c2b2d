// Every page: the language switch submits itself when a language is picked (the <noscript> button
// does it without JavaScript). A file, not an onchange attribute: the Content-Security-Policy
// allows no inline scripts.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("lang-select");
  if (select && select.form) {
    select.addEventListener("change", () => select.form.submit());
  }
});
