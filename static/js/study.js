/* The review session, on top of quiz.js: Enter in an answer box checks it, and once the feedback
   is in, focus moves to "Next review" (Enter again goes on). No text of its own. */
(function () {
  "use strict";
  var quiz = document.querySelector("[data-quiz]");
  if (!quiz) return;
  quiz.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.target.tagName !== "INPUT") return;
    if (event.target.type === "checkbox" || event.target.type === "radio") return;
    var item = event.target.closest("section[data-item-id]");
    var check = item && item.querySelector("[data-action=check]");
    if (!check) return;
    event.preventDefault();
    check.click();
  });
  var feedback = quiz.querySelector("[data-feedback]");
  if (!feedback) return;
  new MutationObserver(function () {
    var next = feedback.querySelector("[data-next-review]");
    if (next) next.focus();
  }).observe(feedback, { childList: true });
})();
