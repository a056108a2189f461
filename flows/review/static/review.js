// docverify review: highlight a field's evidence boxes when the field is clicked. Loaded as a file (the CSP allows
// no inline script); reads only data-field attributes, never writes HTML.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  function highlight(field) {
    var first = null;
    document.querySelectorAll("rect.box").forEach(function (rect) {
      var on = rect.getAttribute("data-field") === field;
      rect.classList.toggle("highlight", on);
      if (on && first === null) { first = rect; }
    });
    document.querySelectorAll("tr.field").forEach(function (row) {
      row.classList.toggle("selected", row.getAttribute("data-field") === field);
    });
    var select = document.getElementById("correct-field");
    if (select && select.querySelector("option[value='" + field + "']")) { select.value = field; }
    if (first !== null && first.scrollIntoView) { first.scrollIntoView({ block: "center", behavior: "smooth" }); }
  }
  document.querySelectorAll(".field-button").forEach(function (button) {
    button.addEventListener("click", function () { highlight(button.getAttribute("data-field")); });
  });
  document.querySelectorAll("rect.box").forEach(function (rect) {
    rect.addEventListener("click", function () {
      highlight(rect.getAttribute("data-field"));
      // Pick this box as the evidence of a correction (the select lists every box of the report).
      var boxes = document.getElementById("correct-box");
      var key = rect.getAttribute("data-box");
      if (boxes) {
        Array.prototype.forEach.call(boxes.options, function (option) {
          if (option.value === key) { boxes.value = key; }
        });
      }
    });
  });
});
