// The moodstream dashboard page: ES modules served as they are (no bundler), no CDN, socket.io-client
// and uPlot served locally.
//
// One Socket.IO connection to /feed, subscribed to every camera with video. Frames are acknowledged
// once drawn, and the server sends the next only then, so a slow browser sees fewer frames instead of
// a growing backlog. Tiles follow the cameras listed in `stats`; the viewer's own webcam (webcam.js)
// becomes one of them.

import { ALERT_BADGE_S, listAlert } from "./alerts.js";
import { connect } from "./connection.js";
import { api } from "./page.js";
import { showStats } from "./stats.js";
import { Tile } from "./tile.js";
import { OwnCamera } from "./webcam.js";

const grid = document.getElementById("grid");
const tiles = new Map();
let ownCamera = null; // the viewer's own webcam's camera id, while it is on

function focusCamera(camera) {
  for (const [id, tile] of tiles) tile.root.classList.toggle("focused", id === camera);
  grid.classList.toggle("has-focus", camera !== null && tiles.has(camera));
  document.getElementById("back").hidden = camera === null;
  const hash = camera ? `#camera=${encodeURIComponent(camera)}` : " ";
  history.replaceState(null, "", window.location.pathname + window.location.search + hash);
}

function syncTiles(cameras) {
  const listed = new Set();
  for (const cam of cameras) {
    listed.add(cam.camera);
    let tile = tiles.get(cam.camera);
    if (!tile) {
      tile = new Tile(cam.camera, focusCamera);
      tiles.set(cam.camera, tile);
      for (const ev of early.take(cam.camera)) deliver(tile, ev);
      const after = [...tiles.keys()].sort().find((id) => id > cam.camera && tiles.get(id).root.isConnected);
      grid.insertBefore(tile.root, after ? tiles.get(after).root : null);
      const wanted = new URLSearchParams(window.location.hash.slice(1)).get("camera");
      if (wanted === cam.camera) focusCamera(cam.camera);
    }
    tile.setState(cam);
    tile.setOwn(cam.camera === ownCamera);
  }
  for (const [id, tile] of tiles) {
    if (!listed.has(id)) {
      tile.remove();
      tiles.delete(id);
      if (grid.classList.contains("has-focus") && !grid.querySelector(".focused")) focusCamera(null);
    }
  }
  document.getElementById("empty").hidden = tiles.size > 0;
  grid.dataset.cameras = tiles.size;
}

function deliver(tile, ev) {
  if (ev.type === "emotion") tile.addEmotion(ev);
  else if (ev.type === "alert") tile.showAlert(ev);
  else tile.showSuggestion(ev);
}

// Events are told apart by (type, camera, id): two streams can give two events the same id.
const seen = {
  last: null,
  keys: new Set(),
  order: (id) => id.split("-").map(Number),
  add(ev) {
    const key = `${ev.type}/${ev.camera}/${ev.id}`;
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > 5000) this.keys.delete(this.keys.values().next().value);
    const [ms, seq] = this.order(ev.id);
    const [lastMs, lastSeq] = this.last ? this.order(this.last) : [-1, -1];
    if (ms > lastMs || (ms === lastMs && seq > lastSeq)) this.last = ev.id;
    return true;
  },
};

// Events for a camera whose tile the stats have not created yet (the state sent on subscribe).
const early = {
  byCamera: new Map(),
  keep(ev) {
    const list = this.byCamera.get(ev.camera) || [];
    list.push(ev);
    this.byCamera.set(ev.camera, list.slice(-50));
  },
  take(camera) {
    const list = this.byCamera.get(camera) || [];
    this.byCamera.delete(camera);
    return list;
  },
};

function onEvent(ev) {
  if (!seen.add(ev)) return; // the same event again, where replay meets live
  if (ev.type === "alert") listAlert(ev);
  const tile = tiles.get(ev.camera);
  if (tile) deliver(tile, ev);
  else early.keep(ev);
}

function onFrame(frame, ack) {
  const tile = tiles.get(frame.camera);
  if (tile) tile.showFrame(frame, ack);
  else if (ack) ack();
}

// The last hour's alerts from the REST API; a recent one also marks its camera's tile.
function loadAlerts() {
  api(`/api/alerts?since=${(Date.now() / 1000 - 3600).toFixed(0)}`).then((data) => {
    if (!data) return;
    for (const alert of data.alerts) {
      listAlert(alert);
      if (Date.now() / 1000 - alert.ts > ALERT_BADGE_S || !seen.add(alert)) continue;
      const tile = tiles.get(alert.camera);
      if (tile) tile.showAlert(alert);
      else early.keep(alert);
    }
  });
}

function start() {
  const socket = connect(() => seen.last, {
    stats: (stats) => showStats(stats, syncTiles),
    emotion: onEvent,
    recommendation: onEvent,
    alert: onEvent,
    frame: onFrame,
  });
  if (!socket) return;
  new OwnCamera(socket, document.getElementById("use-camera"), (camera) => {
    ownCamera = camera;
    for (const [id, tile] of tiles) tile.setOwn(id === camera);
  });
  loadAlerts();
  setInterval(() => tiles.forEach((t) => t.timeline.draw()), 5000);
}

document.getElementById("toggle-system").addEventListener("click", (ev) => {
  const panel = document.getElementById("system");
  panel.hidden = !panel.hidden;
  ev.target.setAttribute("aria-expanded", String(!panel.hidden));
});
document.getElementById("back").addEventListener("click", () => focusCamera(null));
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") focusCamera(null);
});
start();
