// Confirmation before an irreversible action (no inline script: the CSP allows our own files only).
// A form with data-confirm="question" asks the question before it is sent; a button with data-confirm asks
// only when that button sends the form. Cancelling sends nothing.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();
