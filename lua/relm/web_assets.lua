-- relm/web_assets.lua: the web desktop's stylesheet and script, shipped in
-- the engine (served at /web/app.css and /web/app.js; no network, no CDN).
local M = {}

-- Colours keep a contrast of at least 4.5:1 against their background
-- (text #1b1f24 on #fff 16:1; links #0b57d0 on #fff 6.3:1; refusals
-- #8a1c1c on #fdecea 7.4:1; white on the #0b57d0 buttons 6.3:1).
M.css = [[
*{box-sizing:border-box}
html{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
body{margin:0}
a{color:#0b57d0}
:focus-visible{outline:3px solid #e37400;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em}
.skip:focus{left:.5em}
header{display:flex;flex-wrap:wrap;align-items:center;gap:1em;background:#1b1f24;color:#fff;padding:.5em 1em}
header a,header span{color:#fff}
.brand{font-weight:700;font-size:1.2em}
nav{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;flex:1;gap:.5em}
nav ul{display:flex;flex-wrap:wrap;gap:1em;list-style:none;margin:0;padding:0}
.logout{display:flex;align-items:center;gap:.5em;margin:0}
main{max-width:1400px;margin:0 auto;padding:1em}
h1{font-size:1.5em;margin:.2em 0 .6em}
h2{font-size:1.2em;margin:1.2em 0 .4em}
h3{font-size:1em;margin:0 0 .4em}
.card{background:#fff;border:1px solid #c9ced6;border-radius:6px;padding:.8em;margin:.5em 0}
.narrow{max-width:24em}
.field{display:flex;flex-direction:column;margin:0 0 .5em}
.field label{font-weight:600;font-size:.9em}
.field.check{flex-direction:row;align-items:center;gap:.3em}
input,select,textarea,button{font:inherit;padding:.35em .5em;border:1px solid #6b7380;border-radius:4px;
 min-height:2.2em}
button{background:#0b57d0;color:#fff;border-color:#0b57d0;cursor:pointer}
button.secondary{background:#fff;color:#0b57d0}
button.small{font-size:.85em;min-height:1.8em;padding:.1em .4em}
.filters,.inline{display:flex;flex-wrap:wrap;align-items:flex-end;gap:.6em}
.filters .field,.inline .field{margin:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border-bottom:1px solid #d9dde3;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#eef0f3}
tr.flash{background:#fff4c2}
.sub{display:block;color:#4a5260;font-size:.85em}
.sit.late{color:#8a1c1c;font-weight:700}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(16em,1fr));gap:1em;margin:1em 0}
.chart{background:#fff;border:1px solid #c9ced6;border-radius:6px;margin:0;padding:.6em}
.chart figcaption{font-weight:600}
.chart rect{fill:#0b57d0}
.chart text{font-size:12px;fill:#1b1f24}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.refusal{background:#fdecea;color:#8a1c1c;border-left:4px solid #8a1c1c;padding:.4em .6em}
.ok{background:#e6f4ea;color:#1e5631;border-left:4px solid #1e5631;padding:.4em .6em}
.actions{display:grid;grid-template-columns:repeat(auto-fill,minmax(18em,1fr));gap:.8em}
.buttons{display:flex;gap:.5em;flex-wrap:wrap}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(16em,1fr));gap:.3em 1em;margin:0}
.fields dt{font-weight:600;font-size:.85em;color:#4a5260}
.fields dd{margin:0 0 .3em}
.board{display:grid;grid-template-columns:repeat(4,1fr);gap:.6em}
.column{background:#eef0f3;border-radius:6px;padding:.5em}
.column ul{list-style:none;margin:0;padding:0}
.cardlet{background:#fff;border:1px solid #c9ced6;border-radius:4px;padding:.4em;margin:.3em 0}
.lead .state{font-weight:700;background:#1b1f24;color:#fff;border-radius:4px;padding:.1em .5em}
#live{position:fixed;bottom:.5em;right:.5em;background:#1b1f24;color:#fff;padding:.4em .8em;border-radius:4px}
#live a{color:#fff}
@media (max-width:700px){
 main{padding:.5em}
 .board{grid-template-columns:1fr}
 .filters,.inline{flex-direction:column;align-items:stretch}
 table.stack thead{display:none}
 #queue table,#queue tbody,#queue tr,#queue td{display:block}
 #queue thead{position:absolute;left:-9999px}
 #queue tr{border:1px solid #c9ced6;border-radius:6px;margin:.4em 0;background:#fff}
 #queue td{border:0;padding:.15em .5em}
 #queue td:empty{display:none}
}
]]

-- Live updates: the outbox as server-sent events (GET /api/v1/events,
-- read with fetch so every event name arrives, resumed after the last id).
-- When an event names a release shown on the page, the parts marked
-- data-live are fetched again and swapped in; on a release page with a
-- form being filled, a notice offers to reload instead.
M.js = [[
(function () {
  "use strict";
  var last = null, busy = false, again = null;
  function shown(id) {
    return document.querySelector('[data-release="' + id + '"]') ||
      document.querySelector('[data-watch="all"]') ||
      document.querySelector('[data-watch="' + id + '"]');
  }
  function typing() {
    var a = document.activeElement;
    return a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName) && a.value;
  }
  function notice(text) {
    var n = document.getElementById("live");
    if (!n) {
      n = document.createElement("div");
      n.id = "live";
      n.setAttribute("role", "status");
      document.body.appendChild(n);
    }
    n.innerHTML = "";
    var a = document.createElement("a");
    a.href = location.href;
    a.textContent = text;
    n.appendChild(a);
  }
  function refresh(id) {
    // An event that arrives during a refresh asks for one more after it.
    if (busy) { again = id; return; }
    if (document.querySelector("form.action") && typing()) {
      notice(document.documentElement.dataset.changed || "Changed: reload");
      return;
    }
    busy = true;
    fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var now = doc.querySelectorAll("[data-live]"), old = document.querySelectorAll("[data-live]");
        if (document.querySelector("form.action")) {
          document.querySelector("main").replaceWith(doc.querySelector("main"));
        } else {
          for (var i = 0; i < old.length && i < now.length; i++) old[i].replaceWith(now[i]);
        }
        var row = document.querySelector('[data-release="' + id + '"]');
        if (row) row.classList.add("flash");
        document.body.dataset.lastEvent = last;
      }).finally(function () {
        busy = false;
        if (again !== null) { var next = again; again = null; refresh(next); }
      });
  }
  function handle(block) {
    var data = null;
    block.split("\n").forEach(function (line) {
      if (line.indexOf("id: ") === 0) last = line.slice(4);
      if (line.indexOf("data: ") === 0) { try { data = JSON.parse(line.slice(6)); } catch (e) { data = null; } }
    });
    if (data && data.release && shown(data.release.id)) refresh(data.release.id);
  }
  function listen() {
    var url = "/api/v1/events?" + (last ? "last_event_id=" + encodeURIComponent(last) : "from=now");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/event-stream" } }).then(function (res) {
      if (!res.ok || !res.body) throw new Error("events " + res.status);
      document.body.dataset.stream = "on";
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error("closed");
          buf += dec.decode(r.value, { stream: true });
          var at;
          while ((at = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, at)); buf = buf.slice(at + 2); }
          return pump();
        });
      }
      return pump();
    }).catch(function () { document.body.dataset.stream = "off"; setTimeout(listen, 3000); });
  }
  if (document.querySelector("[data-live]")) listen();
})();
]]

return M
