// headrace studio: live updates of the runs list and the run page, and step log tails.
// Everything works without this script (reload the page, "Open as text" for logs); it only adds polling.
(function () {
  "use strict";
  var EVERY = 2000;
  var TERMINAL = { Finished: 1, Completed: 1, Failed: 1, Canceled: 1, Reused: 1 };

  function later(fn) {
    // Polling pauses while the tab is hidden and resumes when it is shown again.
    setTimeout(function () {
      if (document.hidden) {
        document.addEventListener("visibilitychange", function again() {
          if (!document.hidden) { document.removeEventListener("visibilitychange", again); fn(); }
        });
      } else { fn(); }
    }, EVERY);
  }

  function focusKey(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + CSS.escape(el.id);
    var href = el.getAttribute && el.getAttribute("href");
    return href ? el.tagName.toLowerCase() + '[href="' + CSS.escape(href) + '"]' : null;
  }

  function swap(oldEl, newEl) {
    var key = oldEl.contains(document.activeElement) ? focusKey(document.activeElement) : null;
    oldEl.replaceWith(newEl);
    if (key) {
      var again = newEl.querySelector(key);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function get(url, accept) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: accept } })
      .then(function (r) {
        if (!r.ok || r.redirected) throw new Error("HTTP " + r.status); // signed out or gone: stop
        return r;
      });
  }

  // -- the runs list: reload the table while some listed run is queued or running ---------------
  function followList(table) {
    if (table.dataset.live !== "1") return;
    later(function () {
      var url = new URL(location.href);
      url.searchParams.set("fragment", "rows");
      get(url, "text/html").then(function (r) { return r.text(); }).then(function (html) {
        var box = document.createElement("div");
        box.innerHTML = html;
        var fresh = box.querySelector("#runs-table");
        if (!fresh) return;
        var current = document.getElementById("runs-table");
        if (current.innerHTML !== fresh.innerHTML) swap(current, fresh);
        followList(fresh);
      }).catch(function () {});
    });
  }

  // -- the run page: poll the run's state; when it changes, refresh the parts marked data-region --
  function refreshRegions() {
    return get(location.pathname, "text/html").then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      doc.querySelectorAll("[data-region]").forEach(function (fresh) {
        var name = fresh.getAttribute("data-region");
        var current = document.querySelector('[data-region="' + CSS.escape(name) + '"]');
        if (current && current.innerHTML !== fresh.innerHTML) swap(current, document.importNode(fresh, true));
      });
      return doc;
    });
  }

  function followRun(run, last) {
    later(function () {
      get(run.dataset.stateUrl, "application/json").then(function (r) { return r.text(); }).then(function (text) {
        var state = JSON.parse(text);
        var done = TERMINAL[state.status];
        var next = text === last ? Promise.resolve() : refreshRegions();
        next.then(function () {
          if (!done) followRun(run, text);
          else run.dataset.live = "0";
          document.querySelectorAll("details.log[open]").forEach(function (d) { tail(d); });
        });
      }).catch(function () {});
    });
  }

  // -- step logs: load on opening, then append what was written since, while the step runs -------
  function tail(details) {
    if (details.dataset.busy === "1" || !details.open) return;
    details.dataset.busy = "1";
    var pre = details.querySelector("pre");
    var note = details.querySelector(".log-state");
    var offset = details.dataset.offset || "0";
    get(details.dataset.src + "?offset=" + encodeURIComponent(offset), "text/plain").then(function (r) {
      return r.text().then(function (text) {
        var atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
        if (r.headers.get("X-Log-Reset") === "1") pre.textContent = text;
        else if (text) pre.appendChild(document.createTextNode(text));
        if (atEnd) pre.scrollTop = pre.scrollHeight;
        details.dataset.offset = r.headers.get("X-Log-Offset") || offset;
        var status = r.headers.get("X-Step-Status") || "";
        var live = !TERMINAL[status];
        details.dataset.live = live ? "1" : "0";
        note.textContent = live ? "following the log while the step is " + status.toLowerCase() + "…"
          : (pre.textContent ? "" : "(empty)");
        details.dataset.busy = "0";
        if (live) later(function () { tail(details); });
      });
    }).catch(function () {
      details.dataset.busy = "0";
      note.textContent = "could not load the log; use “Open as text”.";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("runs-table");
    if (table) followList(table);
    var run = document.getElementById("run");
    if (run && run.dataset.live === "1") followRun(run, null);
    document.querySelectorAll("details.log").forEach(function (d) {
      d.addEventListener("toggle", function () { if (d.open) tail(d); });
      if (d.open) tail(d);
    });
  });
})();
