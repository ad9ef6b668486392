/*
 * The pupil's survey, enhanced. Without this script every step is a plain form post.
 * With it: each answer is saved the moment it is given; answers wait in the page (and
 * in localStorage) while the network is down and are sent when it returns; screens
 * change without a page load; keys 1-4 answer; read-aloud uses the browser's own
 * speech synthesis; an idle pupil is signed out.
 * Written in ES5 with XMLHttpRequest so that old school browsers run it too.
 */
(function () {
  "use strict";

  var form = document.getElementById("survey-form");
  if (!form) { return; }

  var responseId = parseInt(form.getAttribute("data-response"), 10);
  var seqBase = parseInt(form.getAttribute("data-seq-base"), 10);
  var apiUrl = form.getAttribute("data-api");
  var pageSize = parseInt(form.getAttribute("data-page-size"), 10);
  var total = parseInt(form.getAttribute("data-total"), 10);
  var checkUrl = form.getAttribute("data-check-url");
  var viewBase = form.getAttribute("data-view-base");
  var idleMinutes = parseInt(form.getAttribute("data-idle-minutes"), 10);
  var signedOutUrl = form.getAttribute("data-signed-out-url");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var storageKey = "survey-pending-" + responseId;
  var statusEl = document.getElementById("save-status");
  var progressEl = document.getElementById("progress");
  var countEl = document.getElementById("answered-count");
  var statements = Array.prototype.slice.call(form.querySelectorAll("fieldset.statement"));
  var screenCount = Math.ceil(total / pageSize);
  var screen = parseInt(form.getAttribute("data-number"), 10);
  var lastSeq = 0;
  var pending = loadPending();   // item -> {item, value, seq}
  var inFlight = false;
  var retryTimer = null;
  var retryDelay = 1000;
  var blockedMessage = null;

  // ----- saving -------------------------------------------------------------

  function loadPending() {
    try {
      var raw = window.localStorage && window.localStorage.getItem(storageKey);
      return raw ? JSON.parse(raw) || {} : {};
    } catch (e) { return {}; }
  }

  function storePending() {
    try {
      if (!window.localStorage) { return; }
      if (pendingCount() === 0) { window.localStorage.removeItem(storageKey); }
      else { window.localStorage.setItem(storageKey, JSON.stringify(pending)); }
    } catch (e) { /* private mode: the page still holds the answers */ }
  }

  function pendingCount() {
    var n = 0, k;
    for (k in pending) { if (Object.prototype.hasOwnProperty.call(pending, k)) { n++; } }
    return n;
  }

  function nextSeq() {
    // Server time at page load plus the time since: later answers always get larger
    // numbers, even across tabs and computers, whatever this computer's clock says.
    var elapsed = (window.performance && performance.now) ? performance.now() : (new Date().getTime() - loadedAt);
    var seq = seqBase + Math.round(elapsed * 1000);
    if (seq <= lastSeq) { seq = lastSeq + 1; }
    lastSeq = seq;
    return seq;
  }
  var loadedAt = new Date().getTime();

  var alertEl = document.getElementById("save-alert");
  var stringsEl = document.getElementById("survey-strings");
  var strings = {};
  try { strings = stringsEl ? JSON.parse(stringsEl.textContent) : {}; } catch (e) { strings = {}; }
  function translated(text) {  // the page's language, looked up by the English words
    var number = /\d+/.exec(text);
    var key = number ? text.replace(number[0], "{n}") : text;
    var found = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : null;
    return found === null ? text : (number ? found.replace("{n}", number[0]) : found);
  }
  function setStatus(state, text) {
    text = translated(text);
    var before = statusEl.getAttribute("data-state");
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = text;
    if (!alertEl) { return; }
    if (state === "offline" || state === "error") {
      if (alertEl.textContent !== text) { alertEl.textContent = text; }
    } else if (state === "saved" && (before === "offline" || before === "error" || alertEl.textContent)) {
      alertEl.textContent = translated("Connection back: all your answers are saved.");
    }
  }

  function queueAnswer(item, value) {
    pending[item] = { item: item, value: value, seq: nextSeq() };
    storePending();
    setStatus("saving", "Saving…");
    flush();
  }

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      flush();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function flush(done) {
    if (inFlight) { if (done) { whenIdle.push(done); } return; }
    var batch = [], k;
    for (k in pending) { if (Object.prototype.hasOwnProperty.call(pending, k)) { batch.push(pending[k]); } }
    if (batch.length === 0) { if (done) { done(true); } runWhenIdle(true); return; }
    if (blockedMessage) { if (done) { done(false); } return; }
    if (done) { whenIdle.push(done); }
    inFlight = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", apiUrl, true);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.timeout = 15000;
    xhr.onload = function () {
      inFlight = false;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 200) {
        for (var i = 0; i < batch.length; i++) {
          var sent = batch[i], now = pending[sent.item];
          if (now && now.seq === sent.seq) { delete pending[sent.item]; }
        }
        storePending();
        retryDelay = 1000;
        if (pendingCount() > 0) { flush(); return; }
        setStatus("saved", "Saved");
        runWhenIdle(true);
      } else if (xhr.status === 400 || xhr.status === 413) {
        // The server will never take these answers: say so plainly, keep the rest.
        for (var j = 0; j < batch.length; j++) { delete pending[batch[j].item]; }
        storePending();
        setStatus("error", (body && body.message) || "An answer could not be saved. Please choose it again.");
        runWhenIdle(false);
      } else if (xhr.status === 401 || xhr.status === 403 || xhr.status === 409) {
        blockedMessage = (body && body.message) || "Your answers could not be saved.";
        setStatus("error", blockedMessage);
        runWhenIdle(false);
      } else {
        offline();
      }
    };
    xhr.onerror = xhr.ontimeout = function () { inFlight = false; offline(); };
    xhr.send(JSON.stringify({ response: responseId, answers: batch }));
  }

  var whenIdle = [];
  function runWhenIdle(ok) {
    var callbacks = whenIdle;
    whenIdle = [];
    for (var i = 0; i < callbacks.length; i++) { callbacks[i](ok); }
  }

  function offline() {
    var n = pendingCount();
    setStatus("offline", "Not sent yet: waiting for the connection. " + n + (n === 1 ? " answer is" : " answers are") +
      " kept on this computer and will be sent when it comes back.");
    runWhenIdle(false);
    scheduleRetry();
  }

  window.addEventListener("online", function () { retryDelay = 1000; flush(); });
  var leaving = false;
  window.addEventListener("beforeunload", function (event) {
    if (pendingCount() > 0 && !blockedMessage && !leaving) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // ----- answering -----------------------------------------------------------

  function answeredCount() {
    var n = 0;
    for (var i = 0; i < statements.length; i++) {
      if (statements[i].querySelector("input[type=radio]:checked")) { n++; }
    }
    return n;
  }

  function updateProgress() {
    var n = answeredCount();
    progressEl.value = n;
    countEl.textContent = String(n);
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "radio") { return; }
    var fieldset = input.closest ? input.closest("fieldset.statement") : input.parentNode.parentNode.parentNode;
    queueAnswer(fieldset.getAttribute("data-item"), parseInt(input.value, 10));
    updateProgress();
  });

  // Answers typed on an earlier visit that never reached the server: show and resend.
  (function restorePending() {
    for (var item in pending) {
      if (!Object.prototype.hasOwnProperty.call(pending, item)) { continue; }
      var fs = document.getElementById("st-" + item);
      var radio = fs && fs.querySelector('input[type=radio][value="' + pending[item].value + '"]');
      if (radio) { radio.checked = true; }
      if (pending[item].seq > lastSeq) { lastSeq = pending[item].seq; }
    }
    if (pendingCount() > 0) { setStatus("saving", "Sending answers from earlier…"); flush(); }
  }());

  // ----- screens -------------------------------------------------------------

  var backBtn = document.getElementById("nav-back");
  var nextBtn = document.getElementById("nav-next");
  var checkBtn = document.getElementById("nav-check");
  var intro = document.getElementById("intro");
  var modeAt = document.getElementById("mode-at");

  for (var s = 0; s < statements.length; s++) { statements[s].disabled = false; }

  function showScreen(number, focus) {
    screen = Math.max(1, Math.min(screenCount, number));
    var start = (screen - 1) * pageSize, stop = start + pageSize;
    for (var i = 0; i < statements.length; i++) {
      statements[i].hidden = !(i >= start && i < stop);
    }
    backBtn.hidden = screen === 1;
    nextBtn.hidden = screen === screenCount;
    checkBtn.className = "button " + (screen === screenCount ? "button-big" : "button-secondary");
    if (intro) { intro.hidden = screen !== 1; }
    if (modeAt) { modeAt.value = String(start + 1); }
    form.setAttribute("action", viewBase + screen);
    if (window.history && history.replaceState) { history.replaceState(null, "", viewBase + screen); }
    if (focus) {
      var legend = statements[start].querySelector("legend");
      legend.setAttribute("tabindex", "-1");
      legend.focus();
      window.scrollTo(0, 0);
    }
  }

  function leaveFor(url) {
    setStatus("saving", "Saving…");
    flush(function (ok) {
      if (ok) { window.location.href = url; return; }
      if (!blockedMessage) {
        setStatus("offline", "Your last answers are not sent yet. Please wait for the connection, then press the button again.");
      }
    });
  }

  form.addEventListener("submit", function (event) {
    var nav = event.submitter ? event.submitter.value : lastNav;
    event.preventDefault();
    if (event.submitter && event.submitter.name === "lang") {  // the language picker
      leaveFor(viewBase + screen + "?lang=" + encodeURIComponent(nav)); return;
    }
    if (nav === "back") { showScreen(screen - 1, true); }
    else if (nav === "next") { showScreen(screen + 1, true); }
    else { leaveFor(checkUrl); }
  });
  var lastNav = "next";
  [backBtn, nextBtn, checkBtn].forEach(function (b) {
    b.addEventListener("click", function () { lastNav = b.value; });
  });

  function guardedSubmit(formId) {
    var f = document.getElementById(formId);
    if (!f) { return; }
    f.addEventListener("submit", function (event) {
      if (pendingCount() === 0 || blockedMessage) { return; }
      event.preventDefault();
      setStatus("saving", "Saving…");
      flush(function (ok) {
        if (ok) { f.submit(); }
        else { setStatus("offline", "Your last answers are not sent yet. Please wait for the connection before you leave."); }
      });
    });
  }
  guardedSubmit("mode-form");
  guardedSubmit("signout-form");

  // ----- keys 1-4 -------------------------------------------------------------

  function currentStatement() {
    var active = document.activeElement;
    var fs = active && active.closest ? active.closest("fieldset.statement") : null;
    if (fs && !fs.hidden) { return fs; }
    for (var i = 0; i < statements.length; i++) {
      if (!statements[i].hidden && !statements[i].querySelector("input:checked")) { return statements[i]; }
    }
    for (var j = 0; j < statements.length; j++) { if (!statements[j].hidden) { return statements[j]; } }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) { return; }
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" && event.target.type === "text") { return; }
    if (tag === "TEXTAREA" || tag === "SELECT") { return; }
    var n = parseInt(event.key, 10);
    if (!(n >= 1 && n <= 9)) { return; }
    var fs = currentStatement();
    if (!fs) { return; }
    var radios = fs.querySelectorAll("input[type=radio]");
    if (n > radios.length) { return; }
    event.preventDefault();
    radios[n - 1].checked = true;
    radios[n - 1].focus();
    radios[n - 1].dispatchEvent(new Event("change", { bubbles: true }));
  });
  var keysHint = form.querySelector(".keys-hint");
  if (keysHint) { keysHint.hidden = false; }

  // ----- read aloud -----------------------------------------------------------

  // Each button reads its text in its language (data-speak-lang) with a voice of that
  // language. Where the browser lists voices but none for that language, the button plays
  // the school's recording (data-audio-src) if there is one, or says plainly that there
  // is no voice. An empty list (voices not loaded yet, or not listed) is left to the browser.
  function voiceFor(lang) {
    var voices = window.speechSynthesis.getVoices() || [];
    if (!voices.length) { return undefined; }
    var want = lang.toLowerCase(), base = want.split("-")[0], near = null;
    for (var i = 0; i < voices.length; i++) {
      var have = String(voices[i].lang || "").replace("_", "-").toLowerCase();
      if (have === want) { return voices[i]; }
      if (!near && have.split("-")[0] === base) { near = voices[i]; }
    }
    return near;
  }

  function playRecording(button) {
    var audio = new window.Audio(button.getAttribute("data-audio-src"));
    audio.play();
  }

  function labelSpeakButtons() {
    var buttons = document.querySelectorAll("button.speak");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      var none = voiceFor(button.getAttribute("data-speak-lang") || "en-GB") === null &&
        !button.getAttribute("data-audio-src");
      if (none && !button.hasAttribute("data-no-voice-shown")) {
        button.setAttribute("data-no-voice-shown", "");
        button.setAttribute("data-label", button.getAttribute("aria-label"));
        button.setAttribute("aria-label", button.getAttribute("data-no-voice"));
        button.setAttribute("aria-disabled", "true");
        button.title = button.getAttribute("data-no-voice");
        var text = button.querySelector(".speak-label");
        if (text) { text.textContent = button.getAttribute("data-no-voice"); }
      }
    }
  }

  var speechOk = "speechSynthesis" in window && typeof window.SpeechSynthesisUtterance === "function";
  if (speechOk || document.querySelector("button.speak[data-audio-src]:not([data-audio-src=''])")) {
    var speakButtons = document.querySelectorAll("button.speak");
    for (var b = 0; b < speakButtons.length; b++) {
      if (!speechOk && !speakButtons[b].getAttribute("data-audio-src")) { continue; }
      speakButtons[b].hidden = false;
      speakButtons[b].addEventListener("click", function () {
        if (this.getAttribute("aria-disabled") === "true") { return; }
        var lang = this.getAttribute("data-speak-lang") || "en-GB";
        var voice = speechOk ? voiceFor(lang) : null;
        if (voice === null && this.getAttribute("data-audio-src")) { playRecording(this); return; }
        var utterance = new window.SpeechSynthesisUtterance(this.getAttribute("data-speak"));
        utterance.lang = lang;
        if (voice) { utterance.voice = voice; }
        utterance.rate = 0.9;
        window.speechSynthesis.cancel();
        window.speechSynthesis.speak(utterance);
      });
    }
    if (speechOk) {
      labelSpeakButtons();
      if (window.speechSynthesis.addEventListener) {
        window.speechSynthesis.addEventListener("voiceschanged", labelSpeakButtons);
      }
    }
  }

  // ----- idle sign-out ----------------------------------------------------------

  var idleTimer = null;
  function resetIdle() {
    if (idleTimer) { window.clearTimeout(idleTimer); }
    idleTimer = window.setTimeout(function () {
      var reason = document.getElementById("signout-reason");
      var f = document.getElementById("signout-form");
      // Unsent answers stay in this browser's storage (ids and values only, no names)
      // and are sent when the same pupil signs in again.
      leaving = true;
      if (reason && f) { reason.value = "idle"; f.submit(); }
      else { window.location.href = signedOutUrl; }
    }, idleMinutes * 60 * 1000);
  }
  ["keydown", "mousedown", "touchstart", "change", "scroll"].forEach(function (name) {
    document.addEventListener(name, resetIdle, { passive: true });
  });
  resetIdle();

  form.classList.add("enhanced");
  showScreen(screen, false);
}());
