/* The class regrade's progress: polls the job's state until it is done. Words come from the page. */
(function () {
  "use strict";
  var box = document.querySelector("[data-regrade-job]");
  var configNode = document.getElementById("regrade-config");
  if (!box || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var S = config.strings;
  var bar = box.querySelector("[data-job-bar]");
  var text = box.querySelector("[data-job-text]");
  var delay = 700;

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return String(values[key]); });
  }

  function show(state) {
    bar.max = Math.max(1, state.total);
    bar.value = state.processed;
    bar.textContent = state.processed + " / " + state.total;
    text.textContent = state.finished ? fmt(S.done, state) : fmt(S.progress, {done: state.processed, total: state.total});
    if (state.finished) box.dataset.finished = "1";
  }

  function poll() {
    fetch(config.stateUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (res) {
        // Logged out or refused: the server's words, and no more polls (another one cannot help).
        if (res.status === 401 || res.status === 403) {
          return res.json().then(function (body) { text.textContent = body.message || S.lost; return null; });
        }
        if (!res.ok) throw new Error(String(res.status));
        return res.json();
      })
      .then(function (state) {
        if (state === null) return;
        show(state);
        if (!state.finished) { delay = Math.min(3000, delay * 1.2); setTimeout(poll, delay); }
      })
      .catch(function () { text.textContent = S.lost; delay = Math.min(15000, delay * 2); setTimeout(poll, delay); });
  }

  if (box.dataset.finished !== "1") setTimeout(poll, delay);
})();
