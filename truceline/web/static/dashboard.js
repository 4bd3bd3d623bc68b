// The dashboard's charts (Chart.js, served by truceline itself): findings per day and clause,
// and the day's incidents by kind. The figures come from the page (#chart-data); the same
// figures are in the table under the charts, for a screen reader or a printout.
(function () {
  const source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  // distinct hues, told apart by a pattern of dashes in the legend's border too
  const colours = ["#1f5f99", "#c2571a", "#2e7d32", "#8e24aa", "#b8860b", "#00838f", "#ad1457",
                   "#5d4037", "#455a64", "#6a1b9a"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;  // no motion for a tired eye, and the first paint is final
  const findings = document.getElementById("findings-chart");
  if (findings) {
    new Chart(findings, {
      type: "bar",
      data: {
        labels: data.days,
        datasets: data.series.map((name, n) => ({
          label: name, data: data.counts[n], backgroundColor: colours[n % colours.length],
          borderColor: "#222", borderWidth: n % 2 ? 1 : 0,
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
                  ticks: { precision: 0 }, title: { display: true, text: data.findings } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
  const kinds = document.getElementById("kinds-chart");
  if (kinds) {
    new Chart(kinds, {
      type: "bar",
      data: { labels: data.kinds, datasets: [{ label: data.incidents, data: data.kind_counts,
              backgroundColor: "#1f5f99" }] },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } },
      },
    });
  }
})();
