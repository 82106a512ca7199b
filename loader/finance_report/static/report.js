// Sortable tables (click or Enter on a column heading) and every detail opened for printing.
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
  }

  function compare(numeric) {
    return function (a, b) {
      if (numeric) {
        var x = a.value === "" ? -Infinity : Number(a.value);
        var y = b.value === "" ? -Infinity : Number(b.value);
        if (x !== y) return x < y ? -1 : 1;
        return a.position - b.position;
      }
      var order = a.value.localeCompare(b.value, undefined, { numeric: true, sensitivity: "base" });
      return order !== 0 ? order : a.position - b.position;
    };
  }

  function sortBy(table, header, index) {
    var body = table.tBodies[0];
    if (!body) return;
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, value: cellValue(row, index), position: position };
    });
    rows.sort(compare(header.getAttribute("data-type") === "number"));
    if (!ascending) rows.reverse();
    rows.forEach(function (item) { body.appendChild(item.row); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead) return;
    var headings = table.tHead.rows[table.tHead.rows.length - 1];
    var headers = headings.cells;
    Array.prototype.forEach.call(headers, function (header, index) {
      header.tabIndex = 0;
      header.title = "Sort by this column";
      header.addEventListener("click", function () { sortBy(table, header, index); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, header, index);
        }
      });
    });
  });

  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (details) {
      details.open = true;
      closedForPrint.push(details);
    });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (details) { details.open = false; });
    closedForPrint = [];
  });
})();
