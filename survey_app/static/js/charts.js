/* Draw every Plotly chart on the page from the JSON figure embedded beside it.
 * No inline script: the figure sits in <script type="application/json">, which is data. */
(function () {
  "use strict";
  if (!window.Plotly) { return; }
  var charts = document.querySelectorAll("[data-chart]");
  for (var i = 0; i < charts.length; i++) {
    var el = charts[i];
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) { continue; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, figure.data, figure.layout, {
      displaylogo: false,
      displayModeBar: false,  // its hover styles would need inline CSS, which our CSP forbids
      responsive: true
    });
  }
}());
