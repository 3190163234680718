// recoflow live page: keeps the server-rendered page current by polling the JSON API every
// half second. It only ever asks for the n items shown; the server ranks.
"use strict";
(function () {
  const actions = ["liked", "unliked", "viewed", "favorited", "rated", "shared"];
  const main = document.querySelector("main[data-live]");
  if (!main) return;

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  function clock(iso) {
    return iso.slice(11, 19) + " UTC";
  }
  async function getJSON(path) {
    const res = await fetch(path, { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(path + ": " + res.status);
    return res.json();
  }
  async function refreshFreshness(asOf) {
    const f = await getJSON("/v1/freshness");
    const p = document.getElementById("freshness");
    p.textContent = "";
    if (f.samples > 0) {
      p.append("Fresh: 99% of updates in the last minute were served within ");
      p.append(text("strong", f.p99_seconds.toFixed(2) + " s"));
      p.append(" of the event (median " + f.p50_seconds.toFixed(2) + " s). ");
    } else {
      p.append("Fresh: no new events in the last minute. ");
    }
    p.append("Shown as of ");
    const t = text("time", clock(asOf));
    t.id = "as-of";
    t.dateTime = asOf;
    p.append(t, ".");
  }

  // The top list.
  function query() {
    const form = document.getElementById("filters");
    const q = new URLSearchParams();
    for (const name of ["category", "segment", "n"]) {
      const v = form.elements[name].value.trim();
      if (v !== "") q.set(name, v);
    }
    return q;
  }
  let previous = new Map();
  async function refreshTop() {
    const q = query();
    const list = await getJSON("/v1/top?" + q.toString());
    const body = document.getElementById("items");
    const rows = [];
    const seen = new Map();
    list.items.forEach(function (it, i) {
      const tr = document.createElement("tr");
      tr.dataset.id = it.id;
      tr.append(text("td", String(i + 1), "num"));
      const th = document.createElement("th");
      th.scope = "row";
      const a = text("a", it.id);
      a.href = "/items/" + encodeURIComponent(it.id);
      th.append(a);
      tr.append(th, text("td", it.category || ""), text("td", it.score.toFixed(2), "num"));
      for (const action of actions) {
        const td = text("td", String(it.counts[action] || 0), "num");
        td.dataset.action = action;
        tr.append(td);
      }
      const sig = it.score.toFixed(2) + JSON.stringify(it.counts);
      if (previous.has(it.id) && previous.get(it.id) !== sig) tr.className = "changed";
      seen.set(it.id, sig);
      rows.push(tr);
    });
    previous = seen;
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = text("td", "No items yet" + (q.has("category") || q.has("segment") ? " for this filter." : "."));
      td.colSpan = 10;
      tr.append(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    let caption = "Top " + (q.get("n") || list.items.length);
    if (q.has("category")) caption += " in " + q.get("category").toLowerCase();
    if (q.has("segment")) caption += " for segment " + q.get("segment");
    document.getElementById("caption").textContent = caption + ", by time-decayed score";
    await refreshFreshness(list.as_of);
  }

  // One item.
  const samples = [];
  async function refreshItem() {
    const id = main.dataset.id;
    const it = await getJSON("/v1/items/" + encodeURIComponent(id));
    document.getElementById("score").textContent = it.score.toFixed(2);
    document.getElementById("category").textContent = it.category || "none";
    const updated = document.getElementById("updated");
    updated.textContent = it.updated_at;
    updated.dateTime = it.updated_at;
    for (const td of document.querySelectorAll("#counts td")) {
      td.textContent = String(it.counts[td.dataset.action] || 0);
    }
    samples.push({ t: Date.parse(it.as_of), s: it.score });
    if (samples.length > 600) samples.shift();
    drawHistory();
    await refreshFreshness(it.as_of);
  }
  function drawHistory() {
    const lo = Math.min(...samples.map((p) => p.s));
    const hi = Math.max(...samples.map((p) => p.s));
    const t0 = samples[0].t;
    const t1 = Math.max(samples[samples.length - 1].t, t0 + 1);
    const span = hi - lo || 1;
    const points = samples.map((p) => ((p.t - t0) / (t1 - t0)) * 600 + "," + (110 - ((p.s - lo) / span) * 100));
    document.getElementById("history-line").setAttribute("points", points.join(" "));
    document.getElementById("history-range").textContent =
      "Score from " + lo.toFixed(2) + " to " + hi.toFixed(2) + " over the last " + Math.round((t1 - t0) / 1000) + " s.";
  }

  const refresh = main.dataset.live === "top" ? refreshTop : refreshItem;
  const every = 500; // ms between polls: a flush (1 s) plus one poll stays within 2 s
  let timer;
  async function tick() {
    clearTimeout(timer);
    try {
      await refresh();
      main.dataset.updated = String(Date.now());
    } catch (e) {
      main.dataset.error = String(e);
    }
    timer = setTimeout(tick, every);
  }
  const form = document.getElementById("filters");
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      history.replaceState(null, "", "/?" + query().toString());
      tick();
    });
    form.addEventListener("input", function () {
      history.replaceState(null, "", "/?" + query().toString());
      tick();
    });
  }
  tick();
})();
