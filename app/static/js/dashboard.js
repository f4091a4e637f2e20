/* The dashboard's charts (Apache ECharts, served from static/vendor/echarts).
 * The figures come from the page itself (#dashboard-data, written by the server);
 * each chart has a table beside it with the same numbers, for screen readers and
 * printing, so a chart that cannot draw loses nothing. No inline script: CSP. */
(function () {
  "use strict";

  var picker = document.getElementById("period-picker");
  if (picker) {
    var kind = picker.querySelector("#period");
    var ranges = picker.querySelectorAll("#start, #end");
    var showRange = function () {
      for (var i = 0; i < ranges.length; i++) {
        ranges[i].disabled = kind.value !== "custom";
      }
    };
    kind.addEventListener("change", function () {
      showRange();
      if (kind.value !== "custom") picker.submit();
    });
    showRange();
  }

  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var charts = [];
  var grid = { left: 48, right: 16, top: 48, bottom: 56, containLabel: true };
  var legend = { type: "scroll", top: 0 };

  function stacked(block) {
    return {
      tooltip: { trigger: "axis" },
      legend: legend,
      grid: grid,
      xAxis: { type: "category", data: block.categories, axisLabel: { interval: 0, rotate: block.categories.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: block.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "all", data: s.data };
      })
    };
  }

  function pair(block, first, second) {
    return {
      tooltip: { trigger: "axis" },
      legend: legend,
      grid: grid,
      xAxis: { type: "category", data: block.categories, axisLabel: { interval: 0, rotate: block.categories.length > 6 ? 30 : 0 } },
      yAxis: { type: "value" },
      series: [
        { name: block.labels[0], type: "bar", data: block[first] },
        { name: block.labels[1], type: "bar", data: block[second] }
      ]
    };
  }

  var options = {
    households: function () { return stacked(data.households); },
    intake: function () { return stacked(data.intake); },
    needs: function () { return stacked(data.needs); },
    sponsor: function () {
      var option = stacked(data.sponsor);
      option.yAxis = { type: "value" };
      option.series.forEach(function (s) { delete s.stack; });
      return option;
    },
    money: function () { return pair(data.money, "in", "out"); },
    pledges: function () { return pair(data.pledges, "pledged", "received"); },
    spending: function () {
      return {
        tooltip: { trigger: "item" },
        legend: legend,
        series: [{ type: "pie", radius: ["35%", "65%"], top: 30, data: data.spending }]
      };
    }
  };

  var nodes = document.querySelectorAll(".yj-chart[data-chart]");
  for (var i = 0; i < nodes.length; i++) {
    var name = nodes[i].getAttribute("data-chart");
    if (!options[name]) continue;
    var chart = echarts.init(nodes[i], null, { renderer: "svg" });
    chart.setOption(options[name]());
    nodes[i].setAttribute("data-rendered", "1");
    charts.push(chart);
  }
  window.addEventListener("resize", function () {
    for (var j = 0; j < charts.length; j++) charts[j].resize();
  });
})();
