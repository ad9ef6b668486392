/*
 * Run on the start, signed-out and thank-you pages: nothing of the last pupil stays in
 * this browser for the next one. Deletes the service worker's kept survey pages, the
 * answers and clocks remembered per tab, and the answer queues that are empty. A queue
 * that still holds answers (a pupil signed out for being idle while the network was down)
 * is kept: it holds statement ids and values only, no name, and only the same pupil's
 * survey page sends it, when they sign in again.
 */
(function () {
  "use strict";

  try {
    var session = window.sessionStorage;
    for (var i = session.length - 1; i >= 0; i--) {
      var key = session.key(i);
      if (key && /^survey-(given|clock)-/.test(key)) { session.removeItem(key); }
    }
  } catch (e) { /* storage switched off: nothing was kept */ }
  try {
    var local = window.localStorage;
    for (var j = local.length - 1; j >= 0; j--) {
      var name = local.key(j), value = name && local.getItem(name);
      if (name && /^survey-pending-/.test(name) && (!value || value === "{}")) { local.removeItem(name); }
    }
  } catch (e2) { /* as above */ }
  if (window.caches && caches.keys) {
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("survey-pages-") === 0; })
        .map(function (n) { return caches["delete"](n); }));
    })["catch"](function () { /* nothing to delete */ });
  }
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: "forget" });
  }
}());
