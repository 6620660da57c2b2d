/* The matrix-grid answer widget (templates/quizzes/_widget.html), shared by the quiz and lab pages:
 * reading the cells, resizing (1–12 each way, keeping what was typed), spreadsheet paste (tab- or
 * newline-separated values fill the grid from the focused cell, growing a resizable one) and
 * ↑/↓/Enter between rows (Enter never submits a form). Vanilla JS; loaded before quiz.js / labs.js.
 * Cell labels are the page's own translated strings: each caller passes cellLabel(r, c).
 */
(function () {
  "use strict";

  var MAX = 12;

  function cellAt(w, r, c) {
    return w.querySelector('input.cell[data-r="' + r + '"][data-c="' + c + '"]');
  }

  function rows(w) {
    return Array.prototype.map.call(w.querySelectorAll("table.grid tr"), function (tr) {
      return Array.prototype.map.call(tr.querySelectorAll("input.cell"), function (input) { return input.value.trim(); });
    });
  }

  function makeCell(r, c, value, cellLabel) {
    var input = document.createElement("input");
    input.type = "text";
    input.className = "cell";
    input.dataset.r = r;
    input.dataset.c = c;
    input.size = 4;
    input.autocomplete = "off";
    input.spellcheck = false;
    input.value = value || "";
    input.setAttribute("aria-label", cellLabel(r, c));
    return input;
  }

  function resize(w, rowCount, colCount, cellLabel) {
    rowCount = Math.max(1, Math.min(MAX, rowCount | 0));
    colCount = Math.max(1, Math.min(MAX, colCount | 0));
    var old = rows(w);
    var tbody = w.querySelector("table.grid tbody");
    tbody.textContent = "";
    for (var r = 1; r <= rowCount; r++) {
      var tr = document.createElement("tr");
      for (var c = 1; c <= colCount; c++) {
        var td = document.createElement("td");
        td.appendChild(makeCell(r, c, old[r - 1] ? old[r - 1][c - 1] : "", cellLabel));
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    w.dataset.rows = rowCount;
    w.dataset.cols = colCount;
    var dims = w.querySelector(".grid-dims");
    if (dims) dims.textContent = "(" + rowCount + "×" + colCount + ")";
    var rowsInput = w.querySelector('[data-grid="rows"]');
    var colsInput = w.querySelector('[data-grid="cols"]');
    if (rowsInput) rowsInput.value = rowCount;
    if (colsInput) colsInput.value = colCount;
  }

  /* The size inputs of a resizable grid changed: resize to them. */
  function resizeToInputs(w, cellLabel) {
    resize(w, parseInt(w.querySelector('[data-grid="rows"]').value, 10) || 1,
           parseInt(w.querySelector('[data-grid="cols"]').value, 10) || 1, cellLabel);
  }

  /* A paste into a cell: several values fill the grid and the widget is returned; one value is
   * left to the browser (null). */
  function paste(event, cellLabel) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("cell")) return null;
    var text = (event.clipboardData || window.clipboardData).getData("text");
    if (!/[\t\n]/.test(text.replace(/\s+$/, ""))) return null;
    event.preventDefault();
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    var values = lines.map(function (line) {
      return line.indexOf("\t") >= 0 ? line.split("\t") : line.trim().split(/[\s,;]+/);
    });
    var w = target.closest("[data-widget=matrix]");
    var r0 = parseInt(target.dataset.r, 10);
    var c0 = parseInt(target.dataset.c, 10);
    var width = Math.max.apply(null, values.map(function (row) { return row.length; }));
    if (w.hasAttribute("data-resizable")) {
      var needRows = r0 - 1 + values.length;
      var needCols = c0 - 1 + width;
      if (needRows > +w.dataset.rows || needCols > +w.dataset.cols) {
        resize(w, Math.max(needRows, +w.dataset.rows), Math.max(needCols, +w.dataset.cols), cellLabel);
      }
    }
    values.forEach(function (row, i) {
      row.forEach(function (cell, j) {
        var input = cellAt(w, r0 + i, c0 + j);
        if (input) { input.value = cell.trim(); input.classList.remove("cell-ok", "cell-bad"); }
      });
    });
    return w;
  }

  /* ↑/↓/Enter move between rows of a grid. */
  function moveOnKey(event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("cell")) return;
    var step = { ArrowUp: -1, ArrowDown: 1, Enter: 1 }[event.key];
    if (!step) return;
    var w = target.closest("[data-widget=matrix]");
    var next = cellAt(w, parseInt(target.dataset.r, 10) + step, parseInt(target.dataset.c, 10));
    if (event.key === "Enter") event.preventDefault();
    if (next) { event.preventDefault(); next.focus(); next.select(); }
  }

  window.DLCVGrid = { cellAt: cellAt, rows: rows, resize: resize, resizeToInputs: resizeToInputs, paste: paste,
                      moveOnKey: moveOnKey };
})();
