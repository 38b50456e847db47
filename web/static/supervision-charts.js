// Supervision charts with Apache ECharts (served from static/vendor/echarts by scripts/vendor.sh).
// The figures come from <script type="application/json" id="dashboard-data"> (no inline script: the CSP
// allows our own files only): on-time rate and average working days by department and by item, and the
// yellow and red cards issued per day or month of the chosen period.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent || "{}");
  var labels = data.labels || {};
  var charts = [];

  function box(kind) {
    var el = document.querySelector('[data-chart="' + kind + '"]');
    if (el) { el.style.width = "100%"; el.style.height = "320px"; }
    return el;
  }

  function performance(kind) {
    var el = box(kind), rows = data[kind] || [];
    if (!el) { return; }
    if (!rows.length) { el.hidden = true; return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      title: { text: labels[kind], left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: [labels.rate, labels.days] },
      grid: { left: 48, right: 48, top: 40, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: rows.map(function (r) { return r.name; }),
               axisLabel: { interval: 0, rotate: rows.length > 3 ? 30 : 0, width: 90, overflow: "truncate" } },
      yAxis: [{ type: "value", name: "%", min: 0, max: 100 }, { type: "value", name: labels.days, min: 0 }],
      series: [
        { name: labels.rate, type: "bar", data: rows.map(function (r) { return r.rate; }), itemStyle: { color: "#2a7" } },
        { name: labels.days, type: "bar", yAxisIndex: 1, data: rows.map(function (r) { return r.days; }),
          itemStyle: { color: "#1f6feb" } }
      ]
    });
    charts.push(chart);
    el.setAttribute("data-drawn", "yes");
  }

  function cards() {
    var el = box("cards"), rows = data.cards || [];
    if (!el) { return; }
    if (!rows.length) { el.hidden = true; return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      title: { text: labels.cards, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: [labels.yellow, labels.red] },
      grid: { left: 40, right: 24, top: 40, bottom: 56, containLabel: true },
      xAxis: { type: "category", data: rows.map(function (r) { return r.period; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: labels.yellow, type: "bar", stack: "cards", data: rows.map(function (r) { return r.yellow; }),
          itemStyle: { color: "#d4a017" } },
        { name: labels.red, type: "bar", stack: "cards", data: rows.map(function (r) { return r.red; }),
          itemStyle: { color: "#c62828" } }
      ]
    });
    charts.push(chart);
    el.setAttribute("data-drawn", "yes");
  }

  performance("department");
  performance("item");
  cards();
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
