/* The coding lab page: the editor, loading a .py file, the draft kept in this browser, submitting
 * through the JSON API, and the latest submission's live result.
 *
 * Vanilla JS, no dependencies; every message comes from #codelab-config (translated by Django).
 * Submitting: POST /api/labs/<slug>/submissions/ with the session cookie and the CSRF header. One
 * Idempotency-Key per submission, kept (and the button disabled) until the server has answered for
 * it, so a double click or a retry after a network error never stores two submissions.
 * Draft: saved to localStorage (per user and lab) as the student types and when the page is left;
 * removed once the server has stored the submission.
 * Results: the server renders them (labs/_submission_result.html, escaped there); labs.js polls
 * submissions/<id>/state for this page too (window.DLCVLabs.watchSubmission).
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-codelab]");
  var configEl = document.getElementById("codelab-config");
  if (!root || !configEl) return;
  var cfg = JSON.parse(configEl.textContent);
  var S = cfg.strings || {};
  var labs = window.DLCVLabs;

  var form = root.querySelector("[data-code-form]");
  var editor = root.querySelector("[data-editor]");
  var fileInput = root.querySelector("[data-file-input]");
  var button = root.querySelector("[data-code-submit]");
  var statusEl = root.querySelector("[data-code-submit-status]");
  var errorsEl = root.querySelector("[data-editor-errors]");
  var draftNote = root.querySelector("[data-draft-note]");
  var panel = root.querySelector("[data-results-panel]");

  function fmt(template, values) {
    return labs ? labs.fmt(template, values) : String(template || "");
  }

  function newKey() {
    if (labs) return labs.newKey();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // ------------------------------------------------------------------ the draft (localStorage)

  var saved = editor.value;  // what the server has: the latest submission, else the starter file
  var saveTimer = null;

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }  // blocked storage: no drafts
  }

  function loadDraft() {
    var store = storage();
    if (!store) return null;
    try {
      var draft = JSON.parse(store.getItem(cfg.draft_key) || "null");
      return draft && typeof draft.source === "string" ? draft.source : null;
    } catch (e) { return null; }
  }

  function saveDraft() {
    clearTimeout(saveTimer);
    saveTimer = null;
    var store = storage();
    if (!store) return;
    try {
      if (editor.value === saved) store.removeItem(cfg.draft_key);
      else store.setItem(cfg.draft_key, JSON.stringify({ source: editor.value, saved_at: new Date().toISOString() }));
    } catch (e) { /* full or blocked: the editor still holds the text */ }
  }

  function scheduleSave() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveDraft, 300);
  }

  function clearDraft() {
    var store = storage();
    try { if (store) store.removeItem(cfg.draft_key); } catch (e) { /* ignore */ }
    draftNote.hidden = true;
  }

  var draft = loadDraft();
  if (draft !== null && draft !== editor.value) {
    editor.value = draft;
    draftNote.querySelector("[data-draft-text]").textContent = S.draft_restored;
    draftNote.hidden = false;
  }
  draftNote.querySelector("[data-draft-discard]").addEventListener("click", function () {
    editor.value = saved;
    clearDraft();
    editor.focus();
  });
  editor.addEventListener("input", scheduleSave);
  window.addEventListener("pagehide", saveDraft);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") saveDraft(); });

  // ------------------------------------------------------------------ the editor's keys

  var leaving = false;  // Esc, then Tab: the next Tab moves the focus on (no keyboard trap)

  function replaceSelection(text) {
    editor.focus();
    // execCommand keeps the browser's undo history; setRangeText is the fallback.
    var done = false;
    try { done = document.execCommand(text ? "insertText" : "delete", false, text); } catch (e) { done = false; }
    if (!done) editor.setRangeText(text, editor.selectionStart, editor.selectionEnd, "end");
    scheduleSave();
  }

  function dedent() {
    var value = editor.value;
    var lineStart = value.lastIndexOf("\n", editor.selectionStart - 1) + 1;
    var spaces = /^ {0,4}/.exec(value.slice(lineStart))[0].length;
    if (!spaces) return;
    var start = editor.selectionStart, end = editor.selectionEnd;
    editor.setSelectionRange(lineStart, lineStart + spaces);
    replaceSelection("");
    editor.setSelectionRange(Math.max(lineStart, start - spaces), Math.max(lineStart, end - spaces));
  }

  editor.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { leaving = true; return; }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else submit();
      return;
    }
    if (event.key !== "Tab" || event.ctrlKey || event.altKey || event.metaKey) { leaving = false; return; }
    if (leaving) { leaving = false; return; }
    event.preventDefault();
    if (event.shiftKey) dedent(); else replaceSelection("    ");
  });

  // ------------------------------------------------------------------ loading a file

  function showError(lines) {
    errorsEl.textContent = "";
    lines.forEach(function (line, i) {
      var p = document.createElement("p");
      if (i === 0) { var strong = document.createElement("strong"); strong.textContent = line; p.appendChild(strong); }
      else p.textContent = line;
      errorsEl.appendChild(p);
    });
    errorsEl.hidden = false;
    editor.setAttribute("aria-invalid", "true");
  }

  function clearError() {
    errorsEl.hidden = true;
    errorsEl.textContent = "";
    editor.removeAttribute("aria-invalid");
  }

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file) return;
    clearError();
    if (!/\.py$/i.test(file.name)) { showError([S.not_py]); fileInput.value = ""; return; }
    if (file.size > cfg.max_bytes) { showError([S.too_large]); fileInput.value = ""; return; }
    var reader = new FileReader();
    reader.onload = function () {
      var text = String(reader.result || "");
      editor.value = text;
      saveDraft();
      statusEl.textContent = fmt(S.loaded, { name: file.name });
      if (text.indexOf("\uFFFD") >= 0) showError([fmt(S.not_utf8, { name: file.name })]);
      fileInput.value = "";  // choosing the same file again loads it again
      editor.focus();
      editor.setSelectionRange(0, 0);
    };
    reader.onerror = function () { showError([S.read_error]); fileInput.value = ""; };
    reader.readAsText(file, "UTF-8");
  });

  // ------------------------------------------------------------------ submitting

  var pending = null;  // {key, source}: the submission being sent, until the server answers for it
  var busy = false;

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function messagesOf(errors) {
    if (errors === null || errors === undefined || errors === "") return [];
    if (Array.isArray(errors)) return errors.reduce(function (all, e) { return all.concat(messagesOf(e)); }, []);
    if (typeof errors === "object") {
      return Object.keys(errors).reduce(function (all, k) { return all.concat(messagesOf(errors[k])); }, []);
    }
    return [String(errors)];
  }

  function goToLine(messages) {
    // "Syntax error on line 3" / "第 3 行": put the caret at the start of that line.
    var match = null;
    messages.some(function (m) { match = /(?:line|第)\s*(\d+)/.exec(m); return !!match; });
    if (!match) return;
    var line = parseInt(match[1], 10), at = 0;
    for (var i = 1; i < line && at >= 0; i++) at = editor.value.indexOf("\n", at) + 1 || -1;
    if (at < 0) return;
    editor.focus();
    editor.setSelectionRange(at, at);
  }

  function taipeiTime(iso) {
    try {
      var parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Taipei", year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso));
      var p = {};
      parts.forEach(function (x) { p[x.type] = x.value; });
      return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
    } catch (e) { return ""; }
  }

  function historyRow(submission) {
    var rows = root.querySelector("[data-history-rows]");
    if (!rows) return null;
    var existing = rows.querySelector('[data-history-row="' + submission.id + '"]');
    if (existing) return existing;
    var tr = document.createElement("tr");
    tr.dataset.historyRow = submission.id;
    var link = document.createElement("a");
    link.href = cfg.page_url.replace("{id}", submission.id);
    link.textContent = fmt(S.submission, { n: submission.number });
    var time = document.createElement("time");
    time.dateTime = submission.created_at;
    time.textContent = taipeiTime(submission.created_at);
    var status = document.createElement("span");
    status.className = "sub-status sub-" + submission.status;
    status.dataset.historyStatus = "";
    status.textContent = S.queued;
    var cells = [link, time, status, document.createTextNode("—")];
    cells.forEach(function (child, i) {
      var td = document.createElement("td");
      if (i === 3) td.dataset.historyPoints = "";
      td.appendChild(child);
      tr.appendChild(td);
    });
    rows.insertBefore(tr, rows.firstChild);
    var wrap = root.querySelector("[data-history]");
    var empty = root.querySelector("[data-history-empty]");
    if (wrap) wrap.hidden = false;
    if (empty) empty.hidden = true;
    return tr;
  }

  function number(value) {
    return Math.round(value * 100) / 100;
  }

  function watch(submission) {
    var row = historyRow(submission);
    panel.textContent = "";
    var box = document.createElement("div");
    box.className = "submission";
    box.dataset.submission = "";
    box.dataset.stateUrl = cfg.state_url.replace("{id}", submission.id);
    box.dataset.pending = "true";
    box.dataset.status = "";  // unknown yet: the first answer is drawn whatever it says
    var head = document.createElement("p");
    head.className = "panel-head";
    var link = document.createElement("a");
    link.href = cfg.page_url.replace("{id}", submission.id);
    link.textContent = fmt(S.submission, { n: submission.number });
    head.appendChild(link);
    var statusRegion = document.createElement("div");
    statusRegion.className = "submission-status";
    statusRegion.dataset.statusRegion = "";
    statusRegion.setAttribute("role", "status");
    statusRegion.setAttribute("aria-live", "polite");
    statusRegion.textContent = S.queued;
    var resultRegion = document.createElement("div");
    resultRegion.className = "submission-result";
    resultRegion.dataset.resultRegion = "";
    box.appendChild(head);
    box.appendChild(statusRegion);
    box.appendChild(resultRegion);
    panel.appendChild(box);
    if (!labs) return;
    labs.watchSubmission(box, function (state) {
      if (!row) return;
      var status = row.querySelector("[data-history-status]");
      status.className = "sub-status sub-" + state.status;
      status.textContent = state.label;
      if (state.done && state.points !== null && state.points !== undefined) {
        row.querySelector("[data-history-points]").textContent =
          number(state.points) + (state.max_points !== null && state.max_points !== undefined ? " / " + number(state.max_points) : "");
      }
    }, true);
  }

  async function submit() {
    if (busy || form.hasAttribute("data-refused")) return;  // the page says why (no attempts left, closed)
    var source = editor.value;
    clearError();
    if (!source.trim()) { showError([S.empty]); editor.focus(); return; }
    if (!pending || pending.source !== source) pending = { key: newKey(), source: source };
    busy = true;
    button.disabled = true;
    statusEl.textContent = S.submitting;
    saveDraft();
    var res = null, data = null;
    try {
      res = await fetch(cfg.submit_url, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken(),
                   "Idempotency-Key": pending.key },
        body: JSON.stringify({ source_code: source, lang: cfg.lang }),
      });
      try { data = await res.json(); } catch (e) { data = null; }
    } catch (e) {
      res = null;
    }
    busy = false;
    button.disabled = false;
    if (!res) {  // nothing is known to be stored: the next click retries with the same key
      statusEl.textContent = S.network;
      return;
    }
    pending = null;  // the server answered for this key: a new click is a new submission
    if ((res.status === 201 || res.status === 200) && data && data.id) {
      statusEl.textContent = fmt(res.status === 201 ? S.submitted : S.already, { n: data.number });
      saved = source;
      if (editor.value === source) clearDraft(); else saveDraft();
      watch(data);
      return;
    }
    statusEl.textContent = "";
    var detail = data && (data.detail || data.message);
    if (res.status === 400) {
      var messages = messagesOf(data && data.errors);
      if (!messages.length) messages = [detail || S.error];
      showError([S.invalid].concat(messages));
      goToLine(messages);
    } else if (res.status === 401 || res.status === 403) {
      showError([S.logged_out]);
    } else if (res.status === 413) {
      showError([detail || S.too_large]);
    } else if (res.status === 429) {
      showError([S.too_many]);
    } else {
      showError([detail || S.error]);  // 409: closed, attempts used up (the server's words)
      if (res.status === 409) { form.setAttribute("data-refused", ""); button.disabled = true; }
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
})();
