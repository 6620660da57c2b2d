/* Live preview for the question editor (templates/quizzes/instructor/question_edit.html).
 *
 * Without JavaScript the page still works: "Preview", "Random seed" and "Save" are submit buttons
 * that re-render the page on the server. With it, typing (debounced 400 ms), changing the seed and
 * those two buttons ask the preview endpoint for {valid, errors: [{line, message}], html} instead.
 * The html is rendered and escaped on the server; error texts are inserted as text only.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 400;
  var MAX_SEED = 2147483647;

  var form = document.getElementById("question-editor");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var textarea = form.querySelector("textarea[name=text]");
  var seedInput = form.querySelector("input[name=seed]");
  var preview = document.getElementById("preview");
  var errorsBox = document.getElementById("editor-errors");
  var status = document.getElementById("preview-status");
  var strings = (document.getElementById("i18n-strings") || {dataset: {}}).dataset;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  var timer = null;
  var controller = null;
  var requestNumber = 0;

  function setStatus(text) {
    if (status) {
      status.textContent = text || "";
    }
  }

  function selectLine(line) {
    var lines = textarea.value.split("\n");
    var index = Math.max(1, Math.min(line, lines.length)) - 1;
    var start = 0;
    for (var i = 0; i < index; i += 1) {
      start += lines[i].length + 1;
    }
    textarea.focus();
    textarea.setSelectionRange(start, start + lines[index].length);
    var lineHeight = parseFloat(window.getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (index - 3) * lineHeight);
  }

  function showErrors(errors) {
    errorsBox.textContent = "";
    if (!errors.length) {
      var ok = document.createElement("p");
      ok.className = "ok";
      ok.textContent = strings.ok || "No problems found.";
      errorsBox.appendChild(ok);
      return;
    }
    var heading = document.createElement("p");
    heading.className = "error";
    var strong = document.createElement("strong");
    strong.textContent = errors.length + " " + (strings.problems || "problem(s)");
    heading.appendChild(strong);
    errorsBox.appendChild(heading);
    var list = document.createElement("ul");
    list.className = "error-list";
    var fileName = form.dataset.fileName || "question.md";
    errors.forEach(function (error) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + textarea.id;
      link.className = "line-link";
      link.dataset.line = String(error.line);
      link.textContent = fileName + ":" + error.line;
      item.appendChild(link);
      item.appendChild(document.createTextNode(": " + error.message));
      list.appendChild(item);
    });
    errorsBox.appendChild(list);
  }

  function update() {
    clearTimeout(timer);
    if (controller) {
      controller.abort();
    }
    controller = window.AbortController ? new AbortController() : null;
    var mine = ++requestNumber;
    var body = new FormData();
    body.append("text", textarea.value);
    body.append("seed", seedInput.value || "1");
    body.append("bank_id", form.dataset.bankId || "");
    if (form.dataset.creating) {
      body.append("creating", "on");
    }
    setStatus(strings.updating || "Updating preview…");
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrf ? csrf.value : "", "X-Requested-With": "fetch"},
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json();
    }).then(function (data) {
      if (mine !== requestNumber) {
        return;  // a newer request is on its way
      }
      showErrors(data.errors || []);
      if (data.valid) {
        preview.innerHTML = data.html;  // server-rendered; all user text escaped there
        preview.classList.remove("stale");
        setStatus("");
      } else {
        preview.classList.add("stale");
        setStatus(strings.stale || "Preview not updated: fix the problems first.");
      }
    }).catch(function (error) {
      if (error && error.name === "AbortError") {
        return;
      }
      setStatus(strings.failed || "Preview failed; use the Preview button.");
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  }

  textarea.addEventListener("input", schedule);
  seedInput.addEventListener("input", schedule);

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("line-link")) {
      event.preventDefault();
      selectLine(parseInt(target.dataset.line, 10) || 1);
      return;
    }
    var button = target.closest ? target.closest("button[name=action]") : null;
    if (!button) {
      return;
    }
    if (button.value === "random-seed") {
      event.preventDefault();
      seedInput.value = String(Math.floor(Math.random() * MAX_SEED));
      update();
    } else if (button.value === "preview") {
      event.preventDefault();
      update();
    }
    // "save" submits the form normally.
  });
})();
