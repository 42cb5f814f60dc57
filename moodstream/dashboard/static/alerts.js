// The alerts panel, newest first, and how long a tile shows its newest alert.

import { el } from "./page.js";

export const ALERT_BADGE_S = 60; // how long a camera's tile shows its newest alert

// The alerts panel: newest first, the last 50; filled from the REST API on load, then by the feed.
export function listAlert(alert) {
  const list = document.getElementById("alert-list");
  if (list.querySelector(`[data-id="${CSS.escape(`${alert.camera}/${alert.id}`)}"]`)) return;
  const li = el("li", "alert");
  li.dataset.id = `${alert.camera}/${alert.id}`;
  li.dataset.alertCamera = alert.camera; // not data-camera: that names a tile
  const when = el("time", "", new Date(alert.ts * 1000).toLocaleTimeString());
  li.append(when, `${alert.camera}: ${alert.emotion} for ${Math.round(alert.held_s)} s (${alert.rule})`);
  list.prepend(li);
  while (list.children.length > 50) list.lastChild.remove();
  document.getElementById("alerts").hidden = false;
}

