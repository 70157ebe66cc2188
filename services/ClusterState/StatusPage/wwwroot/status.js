// The live status page: renders /status/model, pushed by /status/events (server-sent events); if the stream
// cannot be opened it polls the model instead. Everything is built with DOM calls (textContent), never HTML strings.
(function () {
  "use strict";
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
    return node;
  };
  const time = iso => iso ? new Date(iso).toLocaleTimeString() : "";
  const duration = s => s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
  const replace = (id, nodes, empty) => {
    const box = document.getElementById(id);
    box.replaceChildren(...(nodes.length ? nodes : [el("p", { class: "empty" }, empty)]));
  };

  // Block-level progress, rate, ETA and blocked reasons come from /status/repairs, and the named health checks from
  // /status/health, where the service has them (ClusterState's observer); the page works without them.
  const extras = { repairs: null, health: null };
  const bytes = n => n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
  function blocksOf(r) {
    const o = (extras.repairs || []).find(x => x.engine === r.engine && (!x.incident || x.incident === r.incident));
    if (!o) return null;
    const parts = [];
    if (o.totalBlocks > 0) {
      const done = o.totalBlocks - (o.remainingBlocks ?? o.totalBlocks);
      parts.push(el("div", { class: "bar blocks", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": o.totalBlocks, "aria-valuenow": done },
        el("div", { class: "fill", style: `width: ${Math.round(100 * done / o.totalBlocks)}%` })));
      parts.push(el("div", {}, `${done} of ${o.totalBlocks} block(s)`, o.totalBytes ? ` (${bytes(o.totalBytes - (o.remainingBytes ?? o.totalBytes))} of ${bytes(o.totalBytes)})` : "",
        o.bytesPerSecond ? ` · ${bytes(o.bytesPerSecond)}/s` : "", o.etaSeconds !== null && o.etaSeconds !== undefined ? ` · ETA ${duration(o.etaSeconds)}` : ""));
    }
    for (const b of o.blocked || []) parts.push(el("div", { class: "blocked", "data-code": b.code }, `blocked: ${b.reason} — ${b.action}`));
    return parts.length ? el("div", { class: "observed" }, ...parts) : null;
  }
  function renderHealth() {
    const h = document.getElementById("health");
    if (!extras.health) { h.replaceChildren(); return; }
    h.replaceChildren(el("strong", { "data-status": extras.health.status }, extras.health.status),
      ...(extras.health.checks || []).map(c => el("div", { class: "finding", "data-severity": c.severity }, `${c.check}: ${c.summary} — ${c.action}`)));
  }
  async function observe(name) {
    try {
      const response = await fetch(name, { cache: "no-store" });
      if (response.status === 404) return false; // this service has no such endpoint: stop asking
      if (response.ok) { const body = await response.json(); extras[name] = name === "repairs" ? body.repairs : body; }
    } catch (e) { /* the event stream reports the service's state */ }
    return true;
  }
  async function observeAll() {
    const wanted = await Promise.all(["repairs", "health"].map(observe));
    renderHealth();
    if (last) render(last);
    if (wanted.some(w => w)) setTimeout(observeAll, 2000);
  }
  let last = null;

  function render(model) {
    last = model;
    const engines = model.clusters.flatMap(c => c.engines);
    const verdict = engines.some(e => e.state === "offline") ? "degraded"
      : model.clusters.some(c => c.status !== "healthy") || engines.some(e => e.state.startsWith("repair")) ? "repairing" : "healthy";
    const v = document.getElementById("verdict");
    v.dataset.verdict = verdict;
    v.textContent = model.clusters.length ? verdict : "no clusters";

    replace("clusters", model.clusters.map(c => el("div", { class: "cluster", "data-cluster": c.id, "data-status": c.status },
      el("h3", {}, c.id, el("span", { class: "status", "data-status": c.status }, c.status)),
      el("div", { class: "engines" }, ...c.engines.map(e => el("div", { class: "engine", "data-engine": e.address, "data-state": e.state, title: e.incident ? `incident ${e.incident}` : "" },
        el("div", { class: "address" }, e.address),
        el("div", { class: "detail" }, `shard ${e.shard} · `, el("span", { class: "state" }, e.state), e.state !== "online" && e.since ? ` since ${time(e.since)}` : ""),
        e.shardUnavailable ? el("div", { class: "detail" }, `shard unavailable: ${e.shardUnavailable}`) : null))))),
      "no storage clusters registered (zdctl cluster create)");

    replace("repairs", model.repairs.map(r => el("div", { class: "repair", "data-engine": r.engine, "data-kind": r.kind },
      el("div", {}, el("strong", {}, `${r.kind === "final" ? "Respread" : "Resync"} of ${r.engine}`), ` (${r.cluster}) · incident ${r.incident} · started ${time(r.startedAt)}`),
      el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": r.percent, "data-completed": r.completed, "data-affected": r.affected },
        el("div", { class: "fill", style: `width: ${r.percent}%` })),
      el("div", {}, `${r.completed} of ${r.affected} vdisk(s) repaired (${r.percent}%)`,
        r.etaSeconds === null || r.etaSeconds === undefined ? " · ETA once a vdisk is done" : r.completed >= r.affected ? " · verifying" : ` · ETA ${duration(r.etaSeconds)}`,
        r.traceId ? el("span", { class: "trace" }, ` · trace ${r.traceId}`) : null),
      blocksOf(r),
      el("div", { class: "vdisks" }, ...r.vdisks.map(d => el("span", { class: "vdisk", "data-vdisk": d.vdisk, "data-state": d.state }, `${d.vdisk}: ${d.state}`))))),
      "none");

    replace("incidents", model.incidents.map(i => el("details", { class: "incident", "data-incident": i.incident, "data-engine": i.engine, "data-open": i.open, open: i.open ? "" : null },
      el("summary", {}, el("strong", {}, i.engine), ` (${i.cluster}) · ${i.open ? "open" : "closed"}, ${i.state} · incident ${i.incident}`,
        i.traceId ? el("span", { class: "trace" }, ` · trace ${i.traceId}`) : null),
      el("ol", { class: "timeline" }, ...i.timeline.map(t => el("li", {}, el("time", { datetime: t.at }, time(t.at)), ` ${t.from} → `, el("strong", {}, t.to), ` — ${t.reason}`,
        t.traceId ? el("span", { class: "trace" }, ` (trace ${t.traceId})`) : null))))),
      "none recorded");
    document.body.dataset.generatedAt = model.generatedAt;
  }

  const feed = (state, text) => { const f = document.getElementById("feed"); f.dataset.feed = state; f.textContent = text; };
  let polling = null;
  async function poll() {
    try {
      const response = await fetch("model", { cache: "no-store" });
      if (!response.ok) throw new Error(response.status);
      render(await response.json());
      feed("polling", "polling");
    } catch (e) { feed("stale", "no answer from ClusterState"); }
  }
  function startPolling() { if (!polling) { poll(); polling = setInterval(poll, 2000); } }

  observeAll();
  if (!window.EventSource) { startPolling(); return; }
  const source = new EventSource("events");
  source.onmessage = e => {
    if (polling) { clearInterval(polling); polling = null; }
    render(JSON.parse(e.data));
    feed("live", `live · ${new Date().toLocaleTimeString()}`);
  };
  source.addEventListener("unavailable", e => feed("stale", `etcd unavailable: ${JSON.parse(e.data)}`));
  // The browser reconnects on its own; meanwhile the model is polled so the page does not freeze.
  source.onerror = () => startPolling();
})();
