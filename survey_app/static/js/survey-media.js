/*
 * Sign-language video and recorded audio on the survey page (pupil/_media.html).
 * - Each "Watch in BSL" block moves into its statement (or the introduction), so it is
 *   shown and hidden with it; closing a block pauses its video; "Watch again" replays.
 *   Nothing plays by itself.
 * - Read-aloud buttons get data-audio-src where the school uploaded a recording in the
 *   page's language. A button with a recording plays it when the browser has no voice
 *   for that language (or no speech at all); otherwise the voice reads as before.
 * ES5, like survey.js.
 */
(function () {
  "use strict";

  var root = document.getElementById("survey-media");
  if (!root) { return; }

  // ----- signing -------------------------------------------------------------

  var blocks = root.querySelectorAll("details.signing");
  for (var i = 0; i < blocks.length; i++) { place(blocks[i]); }

  function place(block) {
    var target = document.getElementById(block.getAttribute("data-for"));
    if (!target) { return; }
    var legend = target.querySelector("legend");
    var after = legend, children = target.children;
    for (var c = 0; c < children.length; c++) {
      if (children[c].tagName === "BUTTON" && /\bspeak\b/.test(children[c].className)) { after = children[c]; break; }
    }
    if (after && after.parentNode === target) { target.insertBefore(block, after.nextSibling); }
    else { target.appendChild(block); }
    block.hidden = false;
    var video = block.querySelector("video");
    var replay = block.querySelector(".signing-replay");
    block.addEventListener("toggle", function () { if (!block.open && video) { video.pause(); } });
    if (video && replay) {
      replay.hidden = false;
      replay.addEventListener("click", function () {
        video.currentTime = 0;
        var played = video.play();
        if (played && played["catch"]) { played["catch"](function () { /* the pupil can press play */ }); }
      });
    }
  }

  // ----- recorded audio --------------------------------------------------------

  var audio = {};
  try { audio = JSON.parse(root.getAttribute("data-audio") || "{}") || {}; } catch (e) { audio = {}; }
  var base = root.getAttribute("data-media-base");

  function languageOf(el) {
    var withLang = el.closest ? el.closest("[lang]") : null;
    return ((withLang && withLang.getAttribute("lang")) || document.documentElement.lang || "en").toLowerCase();
  }

  function subjectOf(button) {
    var fieldset = button.closest ? button.closest("fieldset.statement") : null;
    if (!fieldset) { return null; }
    var option = button.closest(".option");
    if (option) {
      var input = option.querySelector("input");
      return input ? "answer-" + input.value : null;
    }
    if (button.closest("details.easy")) { return null; }
    return fieldset.getAttribute("data-item");
  }

  function recordingFor(button) {
    var subject = subjectOf(button);
    if (!subject) { return null; }
    var lang = languageOf(button), short = lang.split("-")[0];
    var files = audio[lang] || audio[short];
    return files && files[subject] ? base + files[subject] : null;
  }

  function hasVoice(lang) {
    if (!("speechSynthesis" in window) || typeof window.SpeechSynthesisUtterance !== "function") { return false; }
    var voices = window.speechSynthesis.getVoices() || [], short = lang.split("-")[0];
    for (var v = 0; v < voices.length; v++) {
      var vl = (voices[v].lang || "").toLowerCase().replace("_", "-");
      if (vl === lang || vl.split("-")[0] === short) { return true; }
    }
    return false;
  }

  var buttons = document.querySelectorAll("button.speak");
  for (var b = 0; b < buttons.length; b++) {
    var src = recordingFor(buttons[b]);
    if (src) {
      buttons[b].setAttribute("data-audio-src", src);
      buttons[b].hidden = false;
    }
  }

  var player = null;
  // Capture phase: when the recording is used, the voice's own handler never hears the click.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("button.speak") : null;
    var src = button && button.getAttribute("data-audio-src");
    if (!src || hasVoice(languageOf(button))) { return; }
    event.stopPropagation();
    event.preventDefault();
    if ("speechSynthesis" in window) { window.speechSynthesis.cancel(); }
    if (player) { player.pause(); }
    player = new Audio(src);
    var played = player.play();
    if (played && played["catch"]) { played["catch"](function () { /* nothing to do: the pupil can try again */ }); }
  }, true);
}());
