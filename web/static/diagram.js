// Draw a BPMN diagram with bpmn-js (NavigatedViewer) and mark an instance's steps.
// The container carries data-src (the BPMN XML) and data-marks
// ({"completed": [...], "active": [...], "overdue": [...], "failed": [...]}).
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") { return; }
  var marks = JSON.parse(box.getAttribute("data-marks") || "{}");
  var viewer = new BpmnJS({ container: box });
  fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      ["completed", "active", "overdue", "failed"].forEach(function (kind) {
        (marks[kind] || []).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, "mark-" + kind); }
        });
      });
      box.setAttribute("data-rendered", "yes");
    })
    .catch(function (err) {
      box.setAttribute("data-rendered", "failed");
      var p = document.createElement("p");
      p.className = "flash error";
      p.textContent = box.getAttribute("data-error") + ": " + err.message;
      box.appendChild(p);
    });
}());
