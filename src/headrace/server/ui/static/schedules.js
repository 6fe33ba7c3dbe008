/* headrace studio: show each <time class="local"> in the viewer's own time zone.
   The server renders UTC text; that text stays available as the element's title. */
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short"
  });
  var nodes = document.querySelectorAll("time.local[datetime]");
  for (var i = 0; i < nodes.length; i++) {
    var node = nodes[i];
    // Python writes microseconds; keep milliseconds, which every Date parser accepts.
    var when = new Date(node.getAttribute("datetime").replace(/(\.\d{3})\d+/, "$1"));
    if (isNaN(when.getTime())) continue;
    node.title = node.textContent.trim();
    node.textContent = format.format(when);
    node.setAttribute("data-local", "1");
  }
})();
