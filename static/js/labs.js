/* The lab pages: answer grids, submitting, the live grading state, the regrade progress bar.
 *
 * Vanilla JS, no dependencies; every message comes from the page (#labs-config, translated by
 * Django) or from the server. The widgets are the quiz pages' (templates/quizzes/_widget.html), and
 * so is their grid code (grid.js: resize, spreadsheet paste, ↑/↓/Enter between rows).
 *
 * Submitting: one Idempotency-Key per click, kept until the server has answered for it, so a double
 * click or a retry after a network error can never store two submissions.
 * Grading state: polls submissions/<id>/state every second, backing off after the first 15 s (and
 * on network errors); the server says when it is "delayed" and renders what to show.
 * window.DLCVLabs exposes the polling (and the key maker) to codelab.js, the coding lab page.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("labs-config");
  var cfg = configEl ? JSON.parse(configEl.textContent) : {};
  var S = cfg.strings || {};

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (m, key) {
      return values[key] === undefined ? m : values[key];
    });
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  async function getJSON(url) {
    var res = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } });
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, ok: res.ok, data: data };
  }

  // ------------------------------------------------------------------ answer grids (grid.js)

  var Grid = window.DLCVGrid;
  function cellLabel(r, c) { return fmt(S.row, { r: r, c: c }); }
  function onPaste(event) { Grid.paste(event, cellLabel); }

  function onResize(event) {
    var target = event.target;
    if (!target.dataset || !target.dataset.grid) return;
    Grid.resizeToInputs(target.closest("[data-widget=matrix]"), cellLabel);
  }

  function widgetValue(w) {
    var checked;
    switch (w.dataset.widget) {
      case "matrix":
        return Grid.rows(w);
      case "radio":
      case "truefalse":
        checked = w.querySelector("input[type=radio]:checked");
        return checked ? checked.value : null;
      case "checkbox":
        return Array.prototype.map.call(w.querySelectorAll("input[type=checkbox]:checked"), function (i) { return i.value; });
      case "essay":
        return w.querySelector("textarea").value;
      default:
        return w.querySelector("input").value;
    }
  }

  function collect(form) {
    var answers = {};
    form.querySelectorAll("[data-part]").forEach(function (section) {
      var part = {};
      section.querySelectorAll(".q-answer [data-widget]").forEach(function (w) { part[w.dataset.name] = widgetValue(w); });
      answers[section.dataset.part] = part;
    });
    return answers;
  }

  // ------------------------------------------------------------------ submitting

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll("[data-part-errors]").forEach(function (el) { el.hidden = true; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showErrors(form, errors) {
    var first = null;
    Object.keys(errors || {}).forEach(function (partKey) {
      var section = null;
      form.querySelectorAll("[data-part]").forEach(function (el) { if (el.dataset.part === partKey) section = el; });
      var boxes = errors[partKey] || {};
      Object.keys(boxes).forEach(function (name) {
        var slot = null;
        if (section) {
          section.querySelectorAll(".q-answer [data-error-for]").forEach(function (el) { if (el.dataset.errorFor === name) slot = el; });
        }
        if (slot) {
          slot.textContent = S.format_error + " " + boxes[name];
          slot.hidden = false;
          var w = slot.closest("[data-widget]");
          var input = w ? w.querySelector("input:not([type=number]):not([type=hidden]), textarea") : null;
          if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
        } else {
          var banner = section ? section.querySelector("[data-part-errors]") : document.querySelector("[data-form-banner]");
          if (!banner) return;
          var list = banner.querySelector("ul");
          var item = document.createElement(list ? "li" : "span");
          item.textContent = " " + boxes[name];
          (list || banner).appendChild(item);
          banner.hidden = false;
          first = first || section;
        }
      });
    });
    if (first) {
      if (first.tagName === "SECTION") first.scrollIntoView({ block: "start" });
      else first.focus();
    }
  }

  function setupForm(form) {
    var button = form.querySelector("[data-submit]");
    var statusEl = form.querySelector("[data-submit-status]");
    var banner = document.querySelector("[data-form-banner]");
    var key = null;  // the Idempotency-Key of the submission being sent, until the server answers for it
    var busy = false;

    form.addEventListener("paste", onPaste);
    form.addEventListener("keydown", Grid.moveOnKey);
    form.addEventListener("change", onResize);
    form.addEventListener("input", function (event) {
      if (event.target.classList && event.target.classList.contains("cell")) event.target.classList.remove("cell-ok", "cell-bad");
    });

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (busy || form.hasAttribute("data-refused")) return;  // the page says why (no attempts left, closed)
      busy = true;
      button.disabled = true;
      if (!key) key = newKey();
      statusEl.textContent = S.submitting;
      if (banner) { banner.hidden = true; banner.textContent = ""; }
      clearErrors(form);
      var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      var res = null, data = null;
      try {
        res = await fetch(form.action, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf,
                     "Idempotency-Key": key },
          body: JSON.stringify({ answers: collect(form) }),
        });
        try { data = await res.json(); } catch (e) { data = null; }
      } catch (e) {
        res = null;
      }
      if (!res) {  // nothing is known to be stored: the next click retries with the same key
        busy = false;
        button.disabled = false;
        statusEl.textContent = S.network;
        return;
      }
      if ((res.status === 201 || res.status === 200) && data && data.page_url) {
        window.location.assign(data.page_url);  // stays busy: this submission is done
        return;
      }
      key = null;  // the server answered and stored nothing: a new click is a new submission
      busy = false;
      // 409: the lab refuses every further submission (closed, no attempts left): stay disabled.
      if (res.status === 409) form.setAttribute("data-refused", "");
      button.disabled = form.hasAttribute("data-refused");
      statusEl.textContent = "";
      var message = (data && data.detail) || S.error;
      if (res.status === 400 && data && data.code === "invalid") message = S.invalid;
      else if (res.status === 401 || res.status === 403) message = S.logged_out;
      else if (res.status === 429) message = S.too_many;
      if (banner) { banner.textContent = message; banner.hidden = false; }
      if (res.status === 400 && data && data.errors) {
        showErrors(form, data.errors);
      } else if (banner) {
        banner.setAttribute("tabindex", "-1");
        banner.focus();
      }
    });
  }

  document.querySelectorAll("[data-lab-form]").forEach(setupForm);

  // ------------------------------------------------------------------ the live grading state

  // onUpdate (optional) gets each state the server sends; "now" polls at once (a box just added).
  function setupSubmission(box, onUpdate, now) {
    var statusRegion = box.querySelector("[data-status-region]");
    var resultRegion = box.querySelector("[data-result-region]");
    var url = box.dataset.stateUrl;
    var delay = 1000, polls = 0, failures = 0;
    var shown = box.dataset.status + ":" + (box.querySelector("[data-delayed]") ? "1" : "0");

    async function poll() {
      if (document.visibilityState === "hidden") { setTimeout(poll, 2000); return; }
      var res = null;
      try { res = await getJSON(url); } catch (e) { res = null; }
      if (!res || !res.ok || !res.data) {
        if (res && (res.status === 404 || res.status === 401 || res.status === 403)) {
          statusRegion.textContent = (res.data && res.data.message) || S.error;
          return;
        }
        failures += 1;
        setTimeout(poll, Math.min(30000, 1000 * Math.pow(2, failures)));
        return;
      }
      failures = 0;
      var data = res.data;
      if (onUpdate) onUpdate(data);
      var signature = data.status + ":" + (data.delayed ? "1" : "0");
      if (signature !== shown) {
        statusRegion.innerHTML = data.status_html;  // rendered by the server from a template (escaped)
        shown = signature;
        box.dataset.status = data.status;
      }
      if (data.done) {
        box.dataset.pending = "false";
        resultRegion.innerHTML = data.result_html;
        return;
      }
      polls += 1;
      delay = polls < 15 ? 1000 : Math.min(10000, delay * 1.5);
      setTimeout(poll, delay);
    }

    if (box.dataset.pending === "true") setTimeout(poll, now ? 0 : delay);
  }

  document.querySelectorAll("[data-submission]").forEach(function (box) { setupSubmission(box); });
  // For codelab.js: the coding lab page watches the submissions it makes in the same way.
  window.DLCVLabs = { watchSubmission: setupSubmission, newKey: newKey, fmt: fmt };

  // ------------------------------------------------------------------ regrade progress

  function setupRegrade(section) {
    var form = section.querySelector("[data-confirm-regrade]");
    if (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(S.confirm_regrade)) event.preventDefault();
      });
    }
    var bar = section.querySelector("[data-regrade-bar]");
    var text = section.querySelector("[data-regrade-text]");
    var delay = 1000;

    async function poll() {
      var res = null;
      try { res = await getJSON(section.dataset.progressUrl); } catch (e) { res = null; }
      if (res && res.ok && res.data) {
        var p = res.data;
        bar.max = Math.max(1, p.total);
        bar.value = p.done;
        bar.textContent = p.done + " / " + p.total;
        text.textContent = fmt(S.regrade_progress, { done: p.done, total: p.total });
        if (p.finished) { text.textContent += " · " + S.regrade_done; return; }
        delay = Math.min(5000, delay * 1.2);
      } else if (res && (res.status === 401 || res.status === 403)) {
        text.textContent = (res.data && res.data.message) || S.error;  // logged out: another poll cannot help
        return;
      } else {
        delay = Math.min(30000, delay * 2);
      }
      setTimeout(poll, delay);
    }

    if (parseInt(section.dataset.pending, 10) > 0) setTimeout(poll, delay);
  }

  document.querySelectorAll("[data-regrade]").forEach(setupRegrade);
})();
