/* The quiz page: autosave, countdown, practice checks, variants and self-assessment.
 *
 * Vanilla JS, no dependencies. The server is the only clock and the only judge: this script saves
 * each answer (debounced) to attempts/<id>/items/<item>/save, keeps unsaved answers in localStorage
 * until the server acknowledges them, counts down from the server's remaining seconds (resynced
 * every 30 s from attempts/<id>/state) and, at zero, asks the server to submit what was saved.
 * Every message it shows comes from the page (translated by Django) or from the server.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("quiz-config");
  if (!configEl) return;
  var cfg = JSON.parse(configEl.textContent);
  var S = cfg.strings || {};
  var quiz = document.querySelector("[data-quiz]");
  var SAVE_DELAY = 800;
  var POLL_EVERY = 30000;
  var RESTORE_GRACE = 3000; // ms: an unacknowledged local copy this close to the server's is restored

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (m, key) {
      return values[key] === undefined ? m : values[key];
    });
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function request(url, options) {
    options = options || {};
    var headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    if (options.method === "POST") headers["X-CSRFToken"] = csrfToken();
    var res = await fetch(url, Object.assign({ credentials: "same-origin" }, options, { headers: headers }));
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, ok: res.ok, data: data };
  }

  function postJSON(url, body) {
    return request(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  // ------------------------------------------------------------------ widgets

  function widgetsOf(itemEl) {
    return Array.prototype.slice.call(itemEl.querySelectorAll(".q-answer [data-widget]"));
  }

  function widgetValue(w) {
    var checked;
    switch (w.dataset.widget) {
      case "radio":
        checked = w.querySelector("input[type=radio]:checked");
        if (!checked) return null;
        return w.dataset.valueType === "int" ? parseInt(checked.value, 10) : checked.value;
      case "checkbox":
        return Array.prototype.map.call(w.querySelectorAll("input[type=checkbox]:checked"), function (i) {
          return parseInt(i.value, 10);
        }).sort(function (a, b) { return a - b; });
      case "truefalse":
        checked = w.querySelector("input[type=radio]:checked");
        return checked ? checked.value === "true" : null;
      case "matrix":
        return gridRows(w);
      case "essay":
        return w.querySelector("textarea").value;
      default:
        return w.querySelector("input").value;
    }
  }

  function collect(itemEl) {
    var type = itemEl.dataset.type;
    var widgets = widgetsOf(itemEl);
    if (type === "param") {
      var parts = {};
      widgets.forEach(function (w) { parts[w.dataset.name] = widgetValue(w); });
      return { parts: parts };
    }
    var value = widgets.length ? widgetValue(widgets[0]) : null;
    if (type === "single") return { choice: value };
    if (type === "multiple") return { choices: value || [] };
    if (type === "essay") return { text: value || "" };
    return { value: value };
  }

  // Whether the student opened the item's hint (its hidden field, set on the details' toggle): sent
  // with the answer's save and check, so the review of that answer counts as Hard at best.
  function withHint(itemEl, body) {
    var field = itemEl.querySelector("[data-hint-used]");
    if (field && field.value === "1") body.hint_used = true;
    return body;
  }

  function hasAnswer(value) {
    if (value === null || value === undefined) return false;
    if (typeof value === "string") return value.trim() !== "";
    if (Array.isArray(value)) return value.some(hasAnswer);
    if (typeof value === "object") return Object.keys(value).some(function (k) { return hasAnswer(value[k]); });
    return true;
  }

  function setWidget(w, value) {
    switch (w.dataset.widget) {
      case "radio":
      case "truefalse":
        w.querySelectorAll("input[type=radio]").forEach(function (i) {
          i.checked = value !== null && value !== undefined && String(i.value) === String(value);
        });
        break;
      case "checkbox":
        var chosen = (Array.isArray(value) ? value : []).map(String);
        w.querySelectorAll("input[type=checkbox]").forEach(function (i) { i.checked = chosen.indexOf(i.value) >= 0; });
        break;
      case "matrix":
        if (!Array.isArray(value) || !value.length) break;
        if (w.hasAttribute("data-resizable")) {
          resizeGrid(w, value.length, Math.max.apply(null, value.map(function (r) { return Array.isArray(r) ? r.length : 1; })));
        }
        value.forEach(function (row, i) {
          (Array.isArray(row) ? row : [row]).forEach(function (cell, j) {
            var input = cellAt(w, i + 1, j + 1);
            if (input) input.value = cell === null || cell === undefined ? "" : String(cell);
          });
        });
        break;
      case "essay":
        w.querySelector("textarea").value = value || "";
        break;
      default:
        w.querySelector("input").value = value === null || value === undefined ? "" : String(value);
    }
  }

  function apply(itemEl, response) {
    if (!response || typeof response !== "object") return;
    var type = itemEl.dataset.type;
    widgetsOf(itemEl).forEach(function (w) {
      var value;
      if (type === "param") value = (response.parts || {})[w.dataset.name];
      else if (type === "single") value = response.choice;
      else if (type === "multiple") value = response.choices;
      else if (type === "essay") value = response.text;
      else value = response.value;
      setWidget(w, value);
    });
  }

  // ------------------------------------------------------------------ matrix grid (grid.js)

  var Grid = window.DLCVGrid;
  function cellLabel(r, c) { return fmt(S.row, { r: r, c: c }); }
  function cellAt(w, r, c) { return Grid.cellAt(w, r, c); }
  function gridRows(w) { return Grid.rows(w); }
  function resizeGrid(w, rows, cols) { Grid.resize(w, rows, cols, cellLabel); }

  function onPaste(event) {
    var w = Grid.paste(event, cellLabel);
    if (w) changed(w.closest("[data-item-id]"));
  }

  function markCells(itemEl, parts) {
    if (!parts) return;
    var marks = {};
    if (Array.isArray(parts)) parts.forEach(function (p) { if (p && p.cells) marks[p.name] = p.cells; });
    else if (parts.cells) marks.value = parts.cells;
    widgetsOf(itemEl).forEach(function (w) {
      if (w.dataset.widget !== "matrix" || !marks[w.dataset.name]) return;
      w.querySelectorAll("input.cell").forEach(function (input) {
        var row = marks[w.dataset.name][input.dataset.r - 1];
        var ok = row ? row[input.dataset.c - 1] : undefined;
        input.classList.toggle("cell-ok", ok === true);
        input.classList.toggle("cell-bad", ok === false);
      });
    });
  }

  // ------------------------------------------------------------------ autosave

  var clockOffset = cfg.serverTime ? Date.parse(cfg.serverTime) - Date.now() : 0;
  function serverNow() { return Date.now() + clockOffset; }

  var states = {};
  var leaving = false;
  var timeUp = false;

  function storeKey(itemId) { return "dlcv:attempt:" + cfg.attemptId + ":item:" + itemId; }
  function storeGet(itemId) {
    try { return JSON.parse(window.localStorage.getItem(storeKey(itemId))); } catch (e) { return null; }
  }
  function storeSet(itemId, entry) {
    try { window.localStorage.setItem(storeKey(itemId), JSON.stringify(entry)); } catch (e) { /* full or off */ }
  }
  function storeDel(itemId) {
    try { window.localStorage.removeItem(storeKey(itemId)); } catch (e) { /* off */ }
  }

  function stateOf(itemEl) {
    var id = itemEl.dataset.itemId;
    if (!states[id]) {
      states[id] = { id: id, el: itemEl, seq: 0, sentSeq: 0, pending: null, timer: null, retry: null,
                     inflight: null, backoff: 0, stopped: false, error: false };
    }
    return states[id];
  }

  function setStatus(st, kind, text) {
    var el = st.el.querySelector("[data-save-state]");
    // Saving is shown, not spoken; a save that fails is said once, when it starts failing.
    if (kind === "error" && !st.error) say(text);
    st.error = kind === "error";
    if (el) {
      el.textContent = text;
      el.className = "save-state is-" + kind;
    }
    updateSummary();
  }

  function updateSummary() {
    var summary = document.querySelector("[data-save-summary]");
    var pending = 0, errors = 0;
    Object.keys(states).forEach(function (id) {
      var st = states[id];
      if (st.error) errors++;
      else if (st.seq > st.sentSeq) pending++;
    });
    if (summary) summary.textContent = errors ? S.unsaved : pending ? S.saving : "";
    var unanswered = document.querySelector("[data-unanswered]");
    if (unanswered && quiz) {
      var n = Array.prototype.filter.call(quiz.querySelectorAll("section[data-item-id]"), function (el) {
        return !hasAnswer(collect(el));
      }).length;
      unanswered.textContent = fmt(n === 1 ? S.unanswered_one : S.unanswered_other, { n: n });
      unanswered.hidden = n === 0;
    }
  }

  function banner(text) {
    var el = document.querySelector("[data-banner]");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  function announce(text) {
    var el = document.querySelector("[data-announce]");
    if (el) el.textContent = text;
  }

  // The page's one polite live region: one message per event (a check's result, a failed save),
  // instead of every status text on the page speaking up at once.
  var sayTimer = null;
  function say(text) {
    var el = document.querySelector("[data-say]");
    if (!el || !text) return;
    el.textContent = "";
    clearTimeout(sayTimer);
    sayTimer = setTimeout(function () { el.textContent = text; }, 100); // a repeated message is spoken again
  }

  // A control stays focused while its request runs (a disabled button would drop the focus to the
  // page): it is marked aria-disabled, and a second press meanwhile does nothing.
  function busy(button) {
    if (button.getAttribute("aria-disabled") === "true") return true;
    button.setAttribute("aria-disabled", "true");
    return false;
  }
  function idle(button) { button.removeAttribute("aria-disabled"); }

  function changed(itemEl) {
    if (!itemEl || !itemEl.dataset.saveUrl || timeUp) return;
    var st = stateOf(itemEl);
    if (st.stopped) return;
    st.seq += 1;
    st.pending = collect(itemEl);
    storeSet(st.id, { response: st.pending, t: serverNow(), seq: st.seq });
    setStatus(st, "saving", S.saving);
    clearTimeout(st.timer);
    st.timer = setTimeout(function () { save(st); }, SAVE_DELAY);
  }

  function save(st) {
    clearTimeout(st.timer);
    clearTimeout(st.retry);
    if (st.inflight) return st.inflight;
    if (st.stopped || st.seq <= st.sentSeq) return Promise.resolve();
    var seq = st.seq;
    var response = st.pending;
    setStatus(st, "saving", S.saving);
    st.inflight = (async function () {
      var res = null;
      try { res = await postJSON(st.el.dataset.saveUrl, withHint(st.el, { response: response })); } catch (e) { res = null; }
      st.inflight = null;
      if (res && res.ok) {
        st.backoff = 0;
        st.sentSeq = seq;
        st.el.dataset.savedAt = res.data.saved_at;
        if (st.seq === seq) {
          storeDel(st.id);
          setStatus(st, "saved", fmt(S.saved, { time: res.data.saved_at_display }));
        } else {
          return save(st); // answered again while this save was on its way
        }
      } else if (res && [400, 404, 409, 413].indexOf(res.status) >= 0) {
        var message = (res.data && res.data.message) || S.error;
        st.sentSeq = seq; // the same answer would be refused again; a new edit may be fine (400, 413)
        if (res.status === 409 || res.status === 404) {
          st.stopped = true;
          storeDel(st.id);
          banner(message);
          pollState();
        }
        setStatus(st, "error", message);
      } else {
        st.backoff = Math.min(30, st.backoff ? st.backoff * 2 : 1);
        var why = res && (res.status === 401 || res.status === 403) ? S.session : fmt(S.offline, { s: st.backoff });
        setStatus(st, "error", why);
        st.retry = setTimeout(function () { save(st); }, st.backoff * 1000);
      }
    })();
    return st.inflight;
  }

  function flushAll(timeoutMs) {
    var saves = Object.keys(states).map(function (id) { return save(states[id]); });
    var timeout = new Promise(function (resolve) { setTimeout(resolve, timeoutMs); });
    return Promise.race([Promise.all(saves), timeout]);
  }

  function restore(itemEl) {
    var st = stateOf(itemEl);
    var entry = storeGet(st.id);
    if (!entry || !entry.response) return;
    var serverSaved = itemEl.dataset.savedAt ? Date.parse(itemEl.dataset.savedAt) : 0;
    if (entry.t + RESTORE_GRACE > serverSaved) {
      apply(itemEl, entry.response);
      st.seq += 1;
      st.pending = entry.response;
      setStatus(st, "saving", S.restored);
      save(st);
    } else {
      storeDel(st.id); // the server already has this answer or a newer one
    }
  }

  // ------------------------------------------------------------------ countdown

  var timerEl = document.querySelector("[data-timer]");
  var endAt = null;
  var warned = {};

  function hms(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function tick() {
    if (endAt === null) return;
    var left = Math.max(0, Math.round((endAt - performance.now()) / 1000));
    if (timerEl) {
      timerEl.textContent = hms(left);
      timerEl.closest(".timer").classList.toggle("is-low", left <= 300);
    }
    [10, 5, 1].forEach(function (minutes) {
      if (left <= minutes * 60 && left > minutes * 60 - 30 && !warned[minutes]) {
        warned[minutes] = true;
        announce(fmt(S.minutes_left, { m: minutes }));
      }
    });
    if (left <= 0 && !timeUp) timeIsUp();
  }

  function goToResults() {
    leaving = true;
    try { // the attempt is closed: nothing kept for it on this device is of use any more
      var prefix = "dlcv:attempt:" + cfg.attemptId + ":";
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf(prefix) === 0) window.localStorage.removeItem(key);
      });
    } catch (e) { /* storage off */ }
    window.location.assign(cfg.resultsUrl);
  }

  async function submitAtDeadline() {
    try {
      var res = await request(cfg.submitUrl, {
        method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "reason=timeout",
      });
      if (res.ok || res.status === 404) {
        setTimeout(goToResults, 1500); // long enough to read "time is up"
        return;
      }
    } catch (e) { /* offline: try again */ }
    setTimeout(submitAtDeadline, 2000);
  }

  function timeIsUp() {
    timeUp = true;
    leaving = true;
    banner(S.time_up);
    announce(S.time_up);
    if (quiz) {
      quiz.querySelectorAll(".items input, .items textarea, .items button, [data-submit-form] button").forEach(function (el) {
        el.disabled = true;
      });
    }
    submitAtDeadline();
  }

  async function pollState() {
    try {
      var res = await request(cfg.stateUrl);
      if (!res.ok || !res.data) return;
      if (res.data.status !== "in_progress") { goToResults(); return; }
      if (res.data.remaining_seconds !== null && res.data.remaining_seconds !== undefined) {
        endAt = performance.now() + res.data.remaining_seconds * 1000;
        tick();
      }
    } catch (e) { /* offline: the local countdown goes on */ }
  }

  // ------------------------------------------------------------------ practice

  function clearErrors(itemEl) {
    itemEl.querySelectorAll(".q-answer [data-error-for]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
    itemEl.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showFormatErrors(itemEl, errors) {
    var first = null;
    Object.keys(errors).forEach(function (key) {
      var slot = null;
      itemEl.querySelectorAll(".q-answer [data-error-for]").forEach(function (el) {
        if (el.dataset.errorFor === key) slot = el;
      });
      slot = slot || itemEl.querySelector('.q-answer [data-error-for="_item"]');
      slot.textContent = (slot.textContent ? slot.textContent + " " : S.format_error + " ") + errors[key];
      slot.hidden = false;
      var w = slot.closest("[data-widget]");
      var input = w ? w.querySelector("input:not([type=number]), textarea") : null;
      if (input) input.setAttribute("aria-invalid", "true");
      first = first || input;
    });
    if (first) first.focus();
  }

  async function check(itemEl, button) {
    var feedback = itemEl.querySelector("[data-feedback]");
    clearErrors(itemEl);
    var st = stateOf(itemEl);
    var response = collect(itemEl);
    feedback.textContent = S.checking;
    var res = null;
    try { res = await postJSON(itemEl.dataset.checkUrl, withHint(itemEl, { response: response })); } catch (e) { res = null; }
    idle(button);
    if (!res) { feedback.textContent = S.network_error; say(S.network_error); return; }
    if (!res.ok || !res.data) {
      feedback.textContent = (res.data && res.data.message) || (res.status === 401 || res.status === 403 ? S.session : S.error);
      say(feedback.textContent);
      return;
    }
    if (!res.data.gradable) {
      feedback.textContent = "";
      showFormatErrors(itemEl, res.data.format_errors || {});
      return;
    }
    feedback.innerHTML = res.data.html; // rendered by the server from a template (escaped)
    var summary = feedback.querySelector(".fb-score") || feedback.querySelector("h3, p");
    say((summary || feedback).textContent.replace(/\s+/g, " ").trim().slice(0, 300));
    markCells(itemEl, res.data.parts);
    if (JSON.stringify(st.pending || response) === JSON.stringify(response)) {
      st.sentSeq = st.seq; // the check stored exactly this answer: nothing left to autosave
      clearTimeout(st.timer);
      storeDel(st.id);
      setStatus(st, "saved", fmt(S.saved, { time: res.data.saved_at_display }));
    }
  }

  async function anotherVariant(itemEl, button) {
    var res = null;
    try { res = await postJSON(itemEl.dataset.variantUrl, {}); } catch (e) { res = null; }
    idle(button);
    if (!res || !res.ok || !res.data || !res.data.html) {
      itemEl.querySelector("[data-feedback]").textContent = (res && res.data && res.data.message) || S.network_error;
      say(itemEl.querySelector("[data-feedback]").textContent);
      return;
    }
    var template = document.createElement("template");
    template.innerHTML = res.data.html.trim();
    var node = template.content.firstElementChild;
    quiz.querySelector("[data-items]").appendChild(node);
    stateOf(node);
    updateSummary();
    node.scrollIntoView({ behavior: "smooth", block: "start" });
    var heading = node.querySelector("h2");
    if (heading) heading.focus({ preventScroll: true });
  }

  // A wrong check keeps the solution back; the student may ask for it (the server renders it).
  async function reveal(itemEl, button) {
    // busy(button) (the click handler) keeps it focused and pressed once while the request runs.
    var feedback = itemEl.querySelector("[data-feedback]");
    var res = null;
    try { res = await postJSON(button.dataset.url, {}); } catch (e) { res = null; }
    idle(button);
    if (!res || !res.ok || !res.data || !res.data.html) {
      feedback.textContent = (res && res.data && res.data.message) || S.network_error;
      say(feedback.textContent);
      return;
    }
    feedback.innerHTML = res.data.html; // rendered by the server from a template (escaped)
    // The button was inside the replaced feedback: focus moves to the feedback, which now holds the solution.
    feedback.setAttribute("tabindex", "-1");
    feedback.focus({ preventScroll: true });
  }

  async function selfAssess(button) {
    var fieldset = button.closest("[data-self-assess]");
    var status = fieldset.querySelector("[data-self-status]");
    var points = Array.prototype.map.call(fieldset.querySelectorAll("input[type=checkbox]:checked"), function (i) {
      return parseInt(i.value, 10);
    });
    var res = null;
    try { res = await postJSON(button.dataset.url, { points_met: points }); } catch (e) { res = null; }
    idle(button);
    if (res && res.ok && res.data) {
      status.textContent = fmt(S.self_saved, { n: points.length, of: res.data.self_assessment.of });
    } else {
      status.textContent = (res && res.data && res.data.message) || S.network_error;
    }
  }

  // ------------------------------------------------------------------ wiring

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var itemEl = button.closest("[data-item-id]");
    var action = button.dataset.action;
    if (busy(button)) return;
    if (action === "check" && itemEl) check(itemEl, button);
    else if (action === "variant" && itemEl) anotherVariant(itemEl, button);
    else if (action === "reveal" && itemEl) reveal(itemEl, button);
    else if (action === "self-assess") selfAssess(button);
    else idle(button);
  });

  // "toggle" does not bubble: caught on the way down, for items added later (another variant) too.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches("details[data-hint]") || !details.open) return;
    var itemEl = details.closest("[data-item-id]");
    var field = itemEl && itemEl.querySelector("[data-hint-used]");
    if (field) field.value = "1";
  }, true);

  if (!quiz || cfg.readonly || cfg.results) return;

  function onEdit(event) {
    var target = event.target;
    var itemEl = target.closest ? target.closest("[data-item-id]") : null;
    if (!itemEl || !target.closest(".q-answer")) return;
    if (target.dataset.grid) {
      if (event.type !== "change") return;
      Grid.resizeToInputs(target.closest("[data-widget=matrix]"), cellLabel);
    }
    if (target.classList.contains("cell")) target.classList.remove("cell-ok", "cell-bad");
    changed(itemEl);
  }

  quiz.addEventListener("input", onEdit);
  quiz.addEventListener("change", onEdit);
  quiz.addEventListener("paste", onPaste);
  quiz.addEventListener("keydown", Grid.moveOnKey);

  quiz.querySelectorAll("section[data-item-id]").forEach(function (itemEl) {
    stateOf(itemEl);
    if (itemEl.dataset.saveUrl) restore(itemEl);
  });
  updateSummary();

  var form = quiz.querySelector("[data-submit-form]");
  if (form) {
    form.addEventListener("submit", async function (event) {
      if (form.dataset.confirmed) return;
      event.preventDefault();
      var unanswered = document.querySelector("[data-unanswered]");
      var question = S.confirm_submit;
      if (unanswered && !unanswered.hidden) question = unanswered.textContent + "\n" + question;
      if (!window.confirm(question)) return;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      button.textContent = S.submitting;
      await flushAll(8000);
      form.dataset.confirmed = "1";
      leaving = true;
      form.submit();
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (leaving) return;
    var unsaved = Object.keys(states).some(function (id) {
      var st = states[id];
      return !st.stopped && st.seq > st.sentSeq;
    });
    if (unsaved) {
      event.preventDefault();
      event.returnValue = S.leave;
    }
  });

  if (cfg.remainingSeconds !== null && cfg.remainingSeconds !== undefined) {
    endAt = performance.now() + cfg.remainingSeconds * 1000;
    tick();
    setInterval(tick, 1000);
  }
  setInterval(pollState, POLL_EVERY);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") pollState();
  });
})();
