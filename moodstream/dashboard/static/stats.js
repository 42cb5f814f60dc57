// The system panel and the summary line, from the server's `stats` event.

import { el } from "./page.js";

function fmt(v, digits) {
  if (v === null || v === undefined) return "–";
  return typeof v === "number" && digits !== undefined ? v.toFixed(digits) : String(v);
}


// syncTiles(cameras): the page follows the cameras the stats list.
export function showStats(stats, syncTiles) {
  const body = document.getElementById("stages");
  body.replaceChildren();
  for (const [stage, s] of Object.entries(stats.stages)) {
    const tr = el("tr");
    tr.dataset.stage = stage;
    const p95 = s.latency_ms && s.latency_ms.p95;
    for (const v of [stage, s.workers, fmt(s.rate, 1), fmt(s.pending), fmt(s.lag), fmt(s.skip_rate, 1), s.skipped, s.errors, p95 ? p95.toFixed(0) : "–"]) {
      tr.appendChild(el("td", null, String(v)));
    }
    body.appendChild(tr);
  }
  const d = stats.dashboard || {};
  document.getElementById("system-extra").textContent =
    `dead letters: ${stats.dead_letters} · viewers on this dashboard: ${d.clients ?? "–"} · ` +
    `frames sent: ${d.frames_sent ?? 0}, replaced while a viewer was busy: ${d.frames_dropped ?? 0}`;
  const det = stats.stages.detector || {};
  document.getElementById("summary").textContent =
    `${stats.cameras.length} camera(s) · detector ${fmt(det.rate, 1)}/s · ` +
    `p95 ${stats.stages.smoother && stats.stages.smoother.latency_ms.p95 ? stats.stages.smoother.latency_ms.p95.toFixed(0) + " ms" : "–"}`;
  syncTiles(stats.cameras);
}

