/*
 * The survey page's part in surviving a dropped network (runs before survey.js).
 * - Registers the service worker (survey-sw.js) and asks it to keep this survey's page
 *   (one copy serves every screen) and the files it uses.
 * - Remembers, for this tab only (sessionStorage), the answers given and the answer
 *   clock, so a screen shown from the kept copy while offline shows the answers given
 *   since it was kept, and later answers still count as newer (survey.js numbers each
 *   answer from the page's server time).
 * Everything kept is deleted on sign-out and finishing (survey-cleanup.js).
 */
(function () {
  "use strict";

  var form = document.getElementById("survey-form");
  if (!form) { return; }
  var responseId = form.getAttribute("data-response");
  var givenKey = "survey-given-" + responseId;
  var clockKey = "survey-clock-" + responseId;
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }

  function read(key) {
    try { return JSON.parse(store.getItem(key) || "null"); } catch (e) { return null; }
  }

  // ----- which screen ------------------------------------------------------------

  // Offline, the worker answers every screen's address with the one copy it keeps: show
  // the screen the address asks for (survey.js reads data-number).
  var viewBase = form.getAttribute("data-view-base");
  var total = parseInt(form.getAttribute("data-total"), 10);
  var pageSize = parseInt(form.getAttribute("data-page-size"), 10);
  var asked = window.location.pathname;
  if (asked.indexOf(viewBase) === 0 && /^\d+$/.test(asked.slice(viewBase.length))) {
    var number = parseInt(asked.slice(viewBase.length), 10);
    if (number >= 1 && number <= Math.ceil(total / pageSize)) { form.setAttribute("data-number", String(number)); }
  }

  // ----- the answer clock ------------------------------------------------------

  var loadedAt = new Date().getTime();
  var seqBase = parseInt(form.getAttribute("data-seq-base"), 10);
  if (store) {
    var clock = read(clockKey);
    if (typeof clock === "number" && clock >= seqBase) {
      seqBase = clock + 1000;
      form.setAttribute("data-seq-base", String(seqBase));
    }
  }
  function saveClock() {
    if (!store) { return; }
    try { store.setItem(clockKey, JSON.stringify(seqBase + (new Date().getTime() - loadedAt + 1000) * 1000)); } catch (e) { /* full */ }
  }

  // ----- answers given in this tab ---------------------------------------------

  var given = (store && read(givenKey)) || {};
  var changed = false;
  for (var item in given) {
    if (!Object.prototype.hasOwnProperty.call(given, item)) { continue; }
    var fs = document.getElementById("st-" + item);
    var radio = fs && fs.querySelector('input[type=radio][value="' + given[item] + '"]');
    if (radio && !radio.checked) { radio.checked = true; changed = true; }
  }
  if (changed) {
    var n = form.querySelectorAll("fieldset.statement input[type=radio]:checked").length;
    var progress = document.getElementById("progress");
    var count = document.getElementById("answered-count");
    if (progress) { progress.value = n; }
    if (count) { count.textContent = String(n); }
  }
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "radio" || !store) { return; }
    var fieldset = input.closest ? input.closest("fieldset.statement") : null;
    if (!fieldset) { return; }
    given[fieldset.getAttribute("data-item")] = parseInt(input.value, 10);
    try { store.setItem(givenKey, JSON.stringify(given)); } catch (e) { /* full: the page still holds it */ }
    saveClock();
    alive();
  });

  // The worker forgets the kept pages after the idle limit without an answer.
  var lastAlive = 0;
  function alive() {
    var now = new Date().getTime();
    if (now - lastAlive < 30000 || !navigator.serviceWorker || !navigator.serviceWorker.controller) { return; }
    lastAlive = now;
    navigator.serviceWorker.controller.postMessage({ type: "alive" });
  }
  window.addEventListener("pagehide", saveClock);

  // ----- the service worker ------------------------------------------------------

  if (!("serviceWorker" in navigator) || !window.caches) { return; }
  var urls = [asked];
  var assets = document.querySelectorAll("link[rel=stylesheet][href], script[src], img[src]");
  for (var a = 0; a < assets.length; a++) {
    var link = assets[a].getAttribute("href") || assets[a].getAttribute("src");
    if (link && link.charAt(0) === "/" && link.charAt(1) !== "/") { urls.push(link); }
  }
  urls.push("/static/img/speaker.svg");
  var swUrl = form.getAttribute("data-service-worker") || "/survey-sw.js";
  navigator.serviceWorker.register(swUrl, { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    if (registration.active) { registration.active.postMessage({ type: "keep", response: responseId, urls: urls,
      idle: (parseInt(form.getAttribute("data-idle-minutes"), 10) || 20) * 60 * 1000 }); }
  })["catch"](function () { /* no worker: the survey still works while the page stays open */ });
}());
