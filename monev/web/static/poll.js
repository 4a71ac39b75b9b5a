// Asks the page's status URL (data-poll) every few seconds and reloads the page once, when the
// PDF is no longer queued or running: the page itself no longer reloads while it is being read.
(function () {
  "use strict";
  var el = document.querySelector("[data-poll]");
  if (!el) {
    return;
  }
  var url = el.getAttribute("data-poll");
  var tries = 0;
  function tick() {
    tries += 1;
    if (tries > 900) { // an hour: the server is not rendering; the office can reload by hand
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (d && d.status !== "queued" && d.status !== "running") {
          window.location.reload();
        } else {
          window.setTimeout(tick, 4000);
        }
      })
      .catch(function () { window.setTimeout(tick, 8000); });
  }
  window.setTimeout(tick, 3000);
})();
