/* Live completion: poll completion.json and update the table in place.
 *
 * The page works without this file (a Refresh link). With it, the counts and each pupil's
 * row update every few seconds; changes to the counts are announced politely; polling
 * pauses while the tab is hidden or after a long time without the user touching the page,
 * and backs off after errors.
 */
(function () {
  "use strict";

  var live = document.getElementById("live");
  if (!live || !window.fetch || !document.querySelector) { return; }

  var url = live.getAttribute("data-json-url");
  var every = (parseInt(live.getAttribute("data-poll-seconds"), 10) || 5) * 1000;
  var idleLimit = (parseInt(live.getAttribute("data-idle-minutes"), 10) || 60) * 60 * 1000;
  var maxDelay = 60 * 1000;

  var statusBox = document.getElementById("live-status");
  var text = document.getElementById("live-text");
  var announce = document.getElementById("live-announce");
  var notice = document.getElementById("live-notice");
  var resume = document.getElementById("live-resume");

  var timer = null;
  var failures = 0;
  var stopped = false;
  var pausedIdle = false;
  var inFlight = false;
  var lastSummary = live.getAttribute("data-summary");
  var lastTouched = Date.now();

  var LABELS = { "finished": "Finished", "in progress": "In progress", "not started": "Not started" };

  function setStatus(state, message) {
    statusBox.setAttribute("data-state", state);
    text.textContent = message;
  }

  function say(message) {
    // Clearing first makes screen readers announce a repeated message too.
    announce.textContent = "";
    window.setTimeout(function () { announce.textContent = message; }, 50);
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    if (stopped || pausedIdle || document.hidden) { return; }
    timer = window.setTimeout(poll, delay);
  }

  function setCount(root, key, value) {
    var el = root.querySelector('[data-count="' + key + '"]');
    if (el && el.textContent !== String(value)) { el.textContent = String(value); }
  }

  function setCounts(root, counts) {
    ["finished", "in progress", "not started", "total"].forEach(function (key) {
      setCount(root, key, counts[key]);
    });
  }

  function updateRow(row, pupil) {
    var key = pupil.status.replace(/ /g, "-");
    var changed = row.getAttribute("data-status") !== key;
    row.setAttribute("data-status", key);
    var status = row.querySelector(".status");
    status.setAttribute("data-status", key);
    status.querySelector(".status-text").textContent = LABELS[pupil.status] || pupil.status;
    var answered = row.querySelector('[data-field="answered"]');
    if (answered.textContent !== String(pupil.answered)) {
      answered.textContent = String(pupil.answered);
      changed = true;
    }
    var bar = row.querySelector("progress");
    if (bar) { bar.value = pupil.answered; }
    row.querySelector('[data-field="last"]').textContent = pupil.last_activity_text;
    if (changed) {
      row.classList.add("just-changed");
      window.setTimeout(function () { row.classList.remove("just-changed"); }, 2500);
    }
  }

  function apply(data) {
    var reshaped = false;
    setCounts(document.getElementById("round-counts"), data.counts);
    var sections = document.querySelectorAll("section[data-group]");
    if (sections.length !== data.groups.length) { reshaped = true; }
    data.groups.forEach(function (group) {
      var section = document.querySelector('section[data-group="' + group.id + '"]');
      if (!section) { reshaped = true; return; }
      setCounts(section.querySelector(".group-counts"), group.counts);
      var rows = section.querySelectorAll("tr[data-pupil]");
      if (rows.length !== group.pupils.length) { reshaped = true; }
      group.pupils.forEach(function (pupil) {
        var row = section.querySelector('tr[data-pupil="' + pupil.id + '"]');
        if (row) { updateRow(row, pupil); } else { reshaped = true; }
      });
    });
    notice.hidden = !reshaped;
    if (data.summary !== lastSummary) { say(data.summary + "."); }
    lastSummary = data.summary;
  }

  function fail(message, final) {
    failures += 1;
    if (final) {
      stopped = true;
      setStatus("error", message);
      say(message);
      return;
    }
    var delay = Math.min(every * Math.pow(2, failures), maxDelay);
    setStatus("error", "Could not update — retrying in " + Math.round(delay / 1000) + " seconds.");
    if (failures === 1) { say("Could not update — retrying."); }
    schedule(delay);
  }

  function poll() {
    if (inFlight || stopped) { return; }
    if (Date.now() - lastTouched > idleLimit) {
      pausedIdle = true;
      setStatus("paused", "Live updates paused after a long time without activity.");
      resume.hidden = false;
      return;
    }
    inFlight = true;
    window.fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        if (res.redirected || (res.ok && type.indexOf("application/json") === -1) || res.status === 401) {
          throw { final: "You have been signed out. Refresh the page to sign in again." };
        }
        if (res.status === 403 || res.status === 404) {
          throw { final: "This round can no longer be shown. Refresh the page." };
        }
        if (!res.ok) { throw { retry: true }; }
        return res.json();
      })
      .then(function (data) {
        inFlight = false;
        var recovered = failures > 0;
        failures = 0;
        apply(data);
        setStatus("live", "Updated at " + data.updated + ". Updates every " + (every / 1000) + " seconds.");
        if (recovered) { say("Updating again. " + data.summary + "."); }
        schedule(every);
      })
      .catch(function (problem) {
        inFlight = false;
        if (problem && problem.final) { fail(problem.final, true); } else { fail(); }
      });
  }

  function touched() {
    lastTouched = Date.now();
  }

  ["keydown", "pointerdown", "scroll", "focusin"].forEach(function (name) {
    window.addEventListener(name, touched, { passive: true });
  });

  resume.addEventListener("click", function () {
    touched();
    pausedIdle = false;
    resume.hidden = true;
    poll();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      window.clearTimeout(timer);
      if (!stopped && !pausedIdle) { setStatus("paused", "Live updates paused while this tab is hidden."); }
    } else if (!stopped && !pausedIdle) {
      poll();
    }
  });

  setStatus("live", "Updates every " + (every / 1000) + " seconds.");
  schedule(every);
}());
