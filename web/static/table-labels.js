// On a phone a plain table's rows become small cards and its header row is hidden (yimen.css): each cell is
// given its column's name, from the header row, so every value is shown under what it is. Cells that
// already carry a data-label (the administration lists) keep theirs. No inline script: the CSP allows our
// own files only.
(function () {
  "use strict";
  function headerRow(table) {
    var rows = table.tHead ? table.tHead.rows : table.rows;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].querySelector("th") && !rows[i].querySelector("td")) {
        return rows[i];
      }
    }
    return null;
  }
  function names(row) {
    var found = [];
    for (var i = 0; i < row.cells.length; i++) {
      var cell = row.cells[i];
      var text = (cell.getAttribute("data-label") || cell.textContent || "").replace(/\s+/g, " ").trim();
      for (var span = cell.colSpan || 1; span > 0; span--) {
        found.push(text);
      }
    }
    return found;
  }
  function label(table) {
    var header = headerRow(table);
    if (!header) {
      return;
    }
    var columns = names(header);
    for (var r = 0; r < table.rows.length; r++) {
      var row = table.rows[r];
      if (row === header || row.parentNode === table.tHead) {
        continue;
      }
      var column = 0;
      for (var c = 0; c < row.cells.length; c++) {
        var cell = row.cells[c];
        if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && columns[column] && (cell.colSpan || 1) === 1) {
          cell.setAttribute("data-label", columns[column]);
        }
        column += cell.colSpan || 1;
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var tables = document.querySelectorAll("table:not(.cal-grid):not(.cal-years)");
    for (var i = 0; i < tables.length; i++) {
      label(tables[i]);
    }
  });
})();
