// Guard dashboard: poll the state document and redraw every panel.
// Every value from the server is added as text (textContent / text nodes), never as markup:
// paths, part names and reasons come from attackers.
"use strict";

(function () {
  const REFRESH_MS = 5000;
  const base = document.querySelector('meta[name="guard-base"]').content;
  const csrf = document.querySelector('meta[name="guard-csrf"]').content;
  const palette = ["#2451b3", "#c0392b", "#d68910", "#1e8449", "#7d3c98", "#117a8b",
    "#a04000", "#5d6d7e", "#b03a7a", "#6e8b1e", "#34495e", "#e67e22"];
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  function colour(name) {
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return palette[hash % palette.length];
  }

  function clock(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
  }

  function duration(seconds) {
    const s = Math.round(seconds);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    const h = Math.floor(s / 3600);
    return h + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }

  function fill(tbody, rows, columns, empty) {
    tbody.replaceChildren();
    if (!rows.length) {
      tbody.append(el("tr", {}, el("td", { class: "empty", colspan: columns }, empty)));
      return;
    }
    for (const cells of rows) tbody.append(el("tr", {}, ...cells));
  }

  function tags(items) {
    return el("td", {}, ...items.map((item) => el("span", { class: "tag" }, item)));
  }

  function num(value) {
    return el("td", { class: "num" }, value);
  }

  function drawChart(detections) {
    const box = document.getElementById("chart");
    const minutes = detections.minutes;
    const classes = Object.keys(detections.totals);
    const peak = Math.max(1, ...minutes.map((m) =>
      Object.values(m.counts).reduce((a, b) => a + b, 0)));
    const width = Math.max(360, Math.round(box.clientWidth || 720));
    const height = 180, left = 34, bottom = 18, top = 8;
    const plot = height - bottom - top;
    const step = (width - left) / minutes.length;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "detections per minute by class" });
    for (const fraction of [0, 0.5, 1]) {
      const y = top + plot * (1 - fraction);
      chart.append(svg("line", { x1: left, x2: width, y1: y, y2: y, class: "axis" }));
      const label = svg("text", { x: left - 4, y: y + 3, "text-anchor": "end" });
      label.textContent = String(Math.round(peak * fraction));
      chart.append(label);
    }
    minutes.forEach((minute, i) => {
      let y = top + plot;
      for (const name of classes) {
        const count = minute.counts[name] || 0;
        if (!count) continue;
        const h = (count / peak) * plot;
        y -= h;
        const bar = svg("rect", { x: left + i * step + 1, y: y, width: Math.max(1, step - 2),
          height: h, fill: colour(name), "data-class": name });
        const tip = svg("title");
        tip.textContent = `${clock(minute.t)} ${name}: ${count}`;
        bar.append(tip);
        chart.append(bar);
      }
      if (i % 10 === 0 || i === minutes.length - 1) {
        const last = i === minutes.length - 1;
        const label = svg("text", { x: last ? width : left + i * step + step / 2, y: height - 4,
          "text-anchor": last ? "end" : "middle" });
        label.textContent = clock(minute.t).slice(0, 5);
        chart.append(label);
      }
    });
    box.replaceChildren(chart);
    const legend = document.getElementById("legend");
    legend.replaceChildren(...(classes.length ? classes.map((name) => el("li",
      { "data-class": name }, el("span", { class: "swatch" }), name + " ",
      el("strong", { class: "count" }, detections.totals[name]))) :
      [el("li", { class: "empty" }, "No detections in the last hour.")]));
    legend.querySelectorAll(".swatch").forEach((swatch, i) => {
      swatch.style.background = colour(classes[i]);
    });
  }

  function drawTop(id, rows) {
    const most = Math.max(1, ...rows.map((r) => r.count));
    fill(document.querySelector(`#${id} tbody`), rows.map((row) => {
      const bar = el("div", { class: "bar" });
      bar.style.width = (100 * row.count / most).toFixed(1) + "%";
      return [el("td", { class: "mono" }, row.value, bar), num(row.count)];
    }), 2, "Nothing attacked in the last hour.");
  }

  function drawBans(bans) {
    document.getElementById("ban-count").textContent = `${bans.length} active`;
    fill(document.querySelector("#bans tbody"), bans.map((ban) => {
      const button = el("button", { class: "unban", type: "button" }, "Unban");
      button.dataset.key = ban.key;
      button.addEventListener("click", () => unban(button));
      return [el("td", { class: "mono" }, ban.shown), el("td", {}, ban.source),
        el("td", {}, ban.reason), el("td", {}, clock(ban.created)), num(duration(ban.remaining)),
        el("td", { class: "num" }, button)];
    }), 6, "No active bans.");
  }

  function drawIncidents(incidents) {
    fill(document.querySelector("#incidents tbody"), incidents.map((i) => [
      el("td", { class: "mono" }, i.client), num(i.events), tags(i.classes), tags(i.actions),
      tags(i.parts), el("td", {}, clock(i.first_seen)), el("td", {}, clock(i.last_seen)),
      num(i.max_score.toFixed(2)),
    ]), 8, "No incidents.");
  }

  function drawPatterns(patterns) {
    document.getElementById("slow-ms").textContent = `over ${patterns.slow_ms} ms`;
    fill(document.querySelector("#slow tbody"), patterns.slow.map((p) => [
      el("td", { class: "mono" }, p.pattern), num(p.avg_ms.toFixed(2)), num(p.max_ms.toFixed(2)),
      num(p.evaluations)]), 4, "No slow patterns.");
    fill(document.querySelector("#problematic tbody"), patterns.problematic.map((p) => [
      el("td", { class: "mono" }, p.pattern), num(p.timeouts), num(p.anomalies),
      num(p.evaluations)]), 4, "No timeouts or timing anomalies.");
    fill(document.querySelector("#rules tbody"), patterns.rules.map((r) => [
      el("td", { class: "mono" }, r.pattern), num(r.hits),
      num(r.avg_screening_ms === null ? "–" : r.avg_screening_ms.toFixed(3)),
      num(r.confirmation_rate === null ? "–" : Math.round(r.confirmation_rate * 100) + " %")]),
    4, "No rule hits this hour or the last.");
  }

  function drawPipeline(p) {
    const broker = p.broker;
    const facts = [
      ["Broker", broker.url === null ? "none: pipeline runs in-process"
        : (broker.reachable ? "reachable" : "UNREACHABLE"), broker.reachable === false ? "bad" : "ok"],
      ["Events published", p.events.published], ["Events dropped", p.events.dropped,
        p.events.dropped ? "warn" : ""],
      ["Events processed (this hour and the last)", p.events.processed],
      ["Detections (this hour and the last)", p.events.detections],
      ["Local queue (this process)", p.local_queue],
      ["Pattern version", p.pattern_version === null ? "local patterns only" : p.pattern_version],
    ];
    document.getElementById("pipeline-facts").replaceChildren(...facts.flatMap(([name, value, cls]) =>
      [el("dt", {}, name), el("dd", { class: cls || "" }, value)]));
    const queues = Object.entries(broker.queues || {});
    fill(document.querySelector("#queues tbody"), queues.map(([name, depth]) =>
      [el("td", { class: "mono" }, name), num(depth)]), 2,
    broker.url === null ? "No broker queues (embedded pipeline)." : "Queue depths unavailable.");
    fill(document.querySelector("#workers tbody"), p.workers.map((w) => [
      el("td", { class: "mono" }, w.node),
      el("td", { class: w.alive ? "ok" : "bad" }, (w.alive ? "alive, " : "silent, ") +
        duration(w.age) + " ago"),
      num(w.processed)]), 3, "No worker heartbeats in the last 15 minutes.");
  }

  function setStatus(text, stale) {
    const status = document.getElementById("status");
    status.textContent = text;
    status.classList.toggle("stale", stale);
  }

  async function refresh() {
    let response;
    try {
      response = await fetch(`${base}/api/state`, { credentials: "same-origin",
        headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (error) {
      setStatus("connection lost; retrying", true);
      return;
    }
    if (response.status === 401) {
      window.location.assign(`${base}/login`);
      return;
    }
    if (!response.ok) {
      setStatus(`error ${response.status}; retrying`, true);
      return;
    }
    const state = await response.json();
    drawChart(state.detections);
    drawTop("paths", state.top_paths);
    drawTop("parts", state.top_parts);
    drawBans(state.bans);
    drawIncidents(state.incidents);
    drawPatterns(state.patterns);
    drawPipeline(state.pipeline);
    setStatus(`updated ${clock(state.generated)}` +
      (state.store.reachable ? "" : " — store UNREACHABLE"), !state.store.reachable);
    document.body.dataset.loaded = String(state.generated);
  }

  async function unban(button) {
    button.disabled = true;
    const response = await fetch(`${base}/api/unban`, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ key: button.dataset.key }),
    });
    if (!response.ok) {
      setStatus(`unban failed (${response.status})`, true);
      button.disabled = false;
    }
    await refresh();
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
