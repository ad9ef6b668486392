// Read aloud for pages without the survey script: each button.speak reads its data-speak
// in its data-speak-lang.
(function () {
  "use strict";
  if (!("speechSynthesis" in window) || typeof window.SpeechSynthesisUtterance !== "function") { return; }
  var buttons = document.querySelectorAll("button.speak");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () {
      var utterance = new window.SpeechSynthesisUtterance(this.getAttribute("data-speak"));
      utterance.lang = this.getAttribute("data-speak-lang") || "en-GB";
      utterance.rate = 0.9;
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(utterance);
    });
  }
})();
