/* "Select all" for the pupil tick lists. Without JavaScript the boxes are ticked one by one
   and the select-all box stays hidden. */
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var form = document.getElementById(all.getAttribute("data-select-all"));
    if (!form) { return; }
    var boxes = Array.prototype.slice.call(
      form.querySelectorAll('input[type="checkbox"][name="pupil_ids"]'));
    if (!boxes.length) { return; }
    var wrapper = all.closest(".select-all");
    if (wrapper) { wrapper.hidden = false; }

    function sync() {
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      sync();
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });
}());
