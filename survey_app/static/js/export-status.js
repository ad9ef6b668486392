/* Follow a background export: poll its progress and show the download link when ready. */
(function () {
  "use strict";
  var box = document.getElementById("export-status");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("export-progress");
  var message = document.getElementById("export-message");
  var download = document.getElementById("export-download");
  var delay = 700;

  function show(state) {
    bar.value = state.progress;
    bar.textContent = state.progress + "%";
    if (state.status === "done") {
      message.textContent = state.message;
      download.hidden = false;
      var link = download.querySelector("a");
      if (link && state.download) { link.href = state.download; link.textContent = "Download " + state.filename; }
      if (link && state.next) { link.href = state.next.url; link.textContent = state.next.text; }
      return false;
    }
    if (state.status === "failed") { message.textContent = state.message; return false; }
    message.textContent = state.message + " (" + state.progress + "%)";
    return true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (state) { if (show(state)) { window.setTimeout(poll, delay); } })
      .catch(function () {
        message.textContent = "Lost touch with the server; trying again\u2026";
        window.setTimeout(poll, 3000);
      });
  }
  if (!download.hidden) { return; }
  window.setTimeout(poll, 300);
}());
