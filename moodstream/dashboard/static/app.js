// The moodstream dashboard page: plain JavaScript, no CDN, socket.io-client served locally.
//
// One Socket.IO connection to /feed, subscribed to every camera with video. Frames are acknowledged
// once drawn, and the server sends the next only then, so a slow browser sees fewer frames instead of
// a growing backlog. Tiles follow the cameras listed in `stats`.
"use strict";

(function () {
  const CONFIG = JSON.parse(document.getElementById("config").textContent);
  const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
  const COLORS = {
    angry: "#e53935",
    disgust: "#8e24aa",
    fear: "#5e35b1",
    happy: "#f9c908",
    sad: "#1e88e5",
    surprise: "#fb8c00",
    neutral: "#9e9e9e",
  };
  const params = new URLSearchParams(window.location.search);
  const token = params.get("token") || "";
  const authHeaders = token ? { Authorization: "Bearer " + token } : {};
  const grid = document.getElementById("grid");
  const tiles = new Map();

  const ALERT_BADGE_S = 60; // how long a camera's tile shows its newest alert

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function api(path) {
    return fetch(path, { headers: authHeaders, cache: "no-store" })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null); // the dashboard restarting: callers treat it as no data
  }

  // ----- timeline -------------------------------------------------------------------------------
  // The ranges the chart offers, each with the bucket the timeline endpoint sums events into: about
  // 300 points whatever the range. Buckets of 10 s and more come from the rollup stage's buckets.
  const RANGES = [
    { s: 300, bucket: 1, label: "5 min" },
    { s: 3600, bucket: 10, label: "1 h" },
    { s: 86400, bucket: 300, label: "24 h" },
  ];
  const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
  const clock = (ts, seconds) =>
    new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined });

  // One camera's mood over time: the mean of its faces' probabilities per bucket, one line per emotion
  // (uPlot, served like socket.io-client). History comes from the timeline endpoint, then live events.
  class Timeline {
    constructor(root, camera) {
      this.root = root;
      this.camera = camera;
      this.plotBox = root.querySelector(".plot");
      this.readout = root.querySelector(".readout");
      this.buckets = new Map(); // bucket index -> {sums, n}
      this.live = []; // events that arrive while a range loads
      this.loading = 0;
      this.pending = false;
      this.plot = null;
      const wanted = RANGES.find((r) => r.s >= CONFIG.timelineS) || RANGES[RANGES.length - 1];
      for (const range of RANGES) {
        const button = el("button", "range", range.label);
        button.type = "button";
        button.dataset.range = range.s;
        button.addEventListener("click", () => this.load(range));
        root.querySelector(".ranges").appendChild(button);
      }
      if (typeof uPlot === "function") this.makePlot();
      else this.plotBox.textContent = "The chart library (/vendor/uPlot.iife.min.js) is missing.";
      this.load(wanted);
    }

    makePlot() {
      const axis = { stroke: "#9aa3ad", grid: { stroke: "#2c323a", width: 1 }, ticks: { stroke: "#2c323a", width: 1 }, font: "11px sans-serif" };
      const opts = {
        width: Math.max(this.plotBox.clientWidth, 200),
        height: this.height(),
        scales: { x: { time: true }, y: { range: [0, 1] } },
        axes: [axis, { ...axis, size: 42, values: (u, vals) => vals.map(pct) }],
        series: [
          { label: "time", value: (u, ts) => (ts === null ? "–" : clock(ts, this.range.bucket < 60)) },
          ...EMOTIONS.map((e) => ({ label: e, stroke: COLORS[e], width: 1.5, value: (u, v) => pct(v) })),
        ],
        cursor: { drag: { x: false, y: false }, points: { size: 5 } },
        legend: { live: true },
        hooks: { setLegend: [(u) => this.onLegend(u)] },
      };
      this.plot = new uPlot(opts, [[], ...EMOTIONS.map(() => [])], this.plotBox);
      new ResizeObserver(() => {
        const width = this.plotBox.clientWidth;
        if (width && this.plot && (width !== this.plot.width || this.height() !== this.plot.height)) {
          this.plot.setSize({ width, height: this.height() });
        }
      }).observe(this.plotBox);
    }

    height() {
      return this.root.closest(".tile").classList.contains("focused") ? 220 : 130;
    }

    // A range's history, then what arrived meanwhile; a newer choice wins over a slower, older one.
    load(range) {
      this.range = range;
      const token = ++this.loading;
      this.root.dataset.range = range.s;
      this.root.querySelectorAll(".range").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.range) === range.s)));
      const since = Date.now() / 1000 - range.s;
      const cam = encodeURIComponent(this.camera);
      api(`/api/cameras/${cam}/timeline?since=${since.toFixed(3)}&bucket=${range.bucket}`).then((data) => {
        if (token !== this.loading) return; // a newer choice is loading; what it misses is in `live`
        this.buckets.clear();
        for (const p of data ? data.points : []) this.addPoint(p.ts, p.probs, p.events);
        const until = data ? data.until : 0;
        for (const ev of this.live.splice(0)) if (ev.ts > until) this.addPoint(ev.ts, ev.probs, 1);
        this.loaded = token;
        this.root.dataset.history = data ? data.points.length : 0;
        this.root.dataset.bucket = range.bucket;
        this.draw();
      });
    }

    addEvent(ev) {
      if (this.loaded !== this.loading) this.live.push(ev);
      else this.addPoint(ev.ts, ev.probs, 1);
      this.schedule();
    }

    addPoint(ts, probs, weight) {
      const key = Math.floor(ts / this.range.bucket);
      let b = this.buckets.get(key);
      if (!b) {
        b = { sums: EMOTIONS.map(() => 0), n: 0 };
        this.buckets.set(key, b);
      }
      EMOTIONS.forEach((e, i) => (b.sums[i] += (probs[e] || 0) * weight));
      b.n += weight;
    }

    get size() {
      return this.buckets.size;
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      setTimeout(() => {
        this.pending = false;
        this.draw();
      }, 500);
    }

    // uPlot's columns: bucket times, then one series per emotion. A gap of more than three buckets
    // (and 5 s) with no face, or the camera down, breaks the lines (a null point).
    columns() {
      const bucket = this.range.bucket;
      const oldest = Math.floor((Date.now() / 1000 - this.range.s) / bucket);
      for (const key of this.buckets.keys()) if (key < oldest) this.buckets.delete(key); // out of range
      const keys = [...this.buckets.keys()].sort((a, b) => a - b);
      const cols = [[], ...EMOTIONS.map(() => [])];
      let prev = null;
      for (const key of keys) {
        if (prev !== null && (key - prev) * bucket > Math.max(5, 3 * bucket)) {
          cols[0].push((prev + 1) * bucket);
          EMOTIONS.forEach((e, i) => cols[i + 1].push(null));
        }
        const b = this.buckets.get(key);
        cols[0].push(key * bucket);
        EMOTIONS.forEach((e, i) => cols[i + 1].push(b.sums[i] / b.n));
        prev = key;
      }
      return cols;
    }

    draw() {
      const cols = this.columns();
      this.root.dataset.points = cols[0].length;
      this.latest = cols[0].length - 1;
      this.cols = cols;
      if (!this.plot) return this.showReadout(null);
      const now = Date.now() / 1000;
      this.plot.batch(() => {
        this.plot.setData(cols, false);
        this.plot.setScale("x", { min: now - this.range.s, max: now });
      });
      this.root.dataset.xmin = Math.round(this.plot.scales.x.min);
      this.root.dataset.xmax = Math.round(this.plot.scales.x.max);
      this.onLegend(this.plot);
    }

    // The legend follows the cursor; away from the chart it shows the newest bucket, not dashes.
    onLegend(u) {
      const idx = u.cursor.idx;
      const hovered = idx !== null && idx !== undefined;
      if (!hovered && this.latest >= 0) u.setLegend({ idx: this.latest }, false);
      this.showReadout(hovered ? idx : null);
    }

    // Under the cursor: that bucket's time and leading emotion. Otherwise: the newest bucket's.
    showReadout(idx) {
      const cols = this.cols || [[]];
      const hovered = idx !== null && idx !== undefined;
      const at = hovered ? idx : this.latest;
      if (at === undefined || at < 0 || cols[0][at] === undefined || cols[1][at] === null) {
        this.readout.textContent = hovered ? "" : "no faces yet";
        this.readout.dataset.hover = String(hovered);
        return;
      }
      const top = EMOTIONS.reduce((best, e, i) => (cols[i + 1][at] > cols[best + 1][at] ? i : best), 0);
      const when = hovered ? clock(cols[0][at], this.range.bucket < 60) : "now";
      this.readout.textContent = `${when}: ${EMOTIONS[top]} ${pct(cols[top + 1][at])}`;
      this.readout.style.setProperty("--c", COLORS[EMOTIONS[top]]);
      this.readout.dataset.hover = String(hovered);
      this.readout.dataset.label = EMOTIONS[top];
    }
  }

  // ----- camera tiles ---------------------------------------------------------------------------
  class Tile {
    constructor(camera) {
      this.camera = camera;
      const root = document.getElementById("tile-template").content.firstElementChild.cloneNode(true);
      root.dataset.camera = camera;
      root.querySelector(".name").textContent = camera;
      this.root = root;
      this.img = root.querySelector(".frame");
      this.boxes = root.querySelector(".boxes");
      this.timeline = new Timeline(root, camera);
      this.frames = 0;
      this.boxesDrawn = 0;
      this.objectUrl = null;
      root.addEventListener("click", (ev) => {
        if (ev.target.closest("a, button, iframe, audio")) return;
        focusCamera(root.classList.contains("focused") ? null : camera);
      });
      root.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && ev.target === root) focusCamera(camera);
      });
    }

    setState(cam) {
      const state = this.root.querySelector(".state");
      state.textContent = cam.state === "streaming" ? `${cam.fps.toFixed(1)} fps` : cam.state;
      state.title = cam.error || "";
      this.root.dataset.state = cam.state;
    }

    showFrame(frame, ack) {
      const blob = new Blob([frame.jpeg], { type: "image/jpeg" });
      const url = URL.createObjectURL(blob);
      const done = () => {
        if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
        this.objectUrl = url;
        this.frames += 1;
        this.root.dataset.frames = this.frames;
        this.root.dataset.seq = frame.seq;
        this.root.classList.add("live");
        this.drawBoxes(frame);
        if (ack) ack();
      };
      this.img.onload = done;
      this.img.onerror = () => {
        URL.revokeObjectURL(url);
        if (ack) ack();
      };
      this.img.src = url;
    }

    drawBoxes(frame) {
      const c = this.boxes;
      const w = (c.width = this.img.clientWidth * devicePixelRatio);
      const h = (c.height = this.img.clientHeight * devicePixelRatio);
      const ctx = c.getContext("2d");
      ctx.clearRect(0, 0, w, h);
      const sx = w / frame.width;
      const sy = h / frame.height;
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.font = `${Math.round(13 * devicePixelRatio)}px sans-serif`;
      for (const f of frame.faces) {
        const [x, y, bw, bh] = f.box;
        const color = f.label ? COLORS[f.label] : "#ffffff";
        ctx.strokeStyle = color;
        ctx.strokeRect(x * sx, y * sy, bw * sx, bh * sy);
        const text = f.label ? `${f.label} ${Math.round(f.confidence * 100)}%` : "…";
        const tw = ctx.measureText(text).width + 8 * devicePixelRatio;
        const th = 17 * devicePixelRatio;
        ctx.fillStyle = color;
        ctx.fillRect(x * sx, Math.max(0, y * sy - th), tw, th);
        ctx.fillStyle = "#000";
        ctx.fillText(text, x * sx + 4 * devicePixelRatio, Math.max(th, y * sy) - 4 * devicePixelRatio);
      }
      this.boxesDrawn += frame.faces.length;
      this.root.dataset.faces = frame.faces.length;
      this.root.dataset.boxes = this.boxesDrawn;
    }

    addEmotion(ev) {
      // A retained emotion is the track's current state, already in the history the tile loaded.
      if (!ev.retained) this.timeline.addEvent(ev);
      const label = this.root.querySelector(".emotion");
      label.textContent = ev.label;
      label.style.setProperty("--c", COLORS[ev.label]);
    }

    showAlert(alert) {
      const badge = this.root.querySelector(".alert-badge");
      badge.textContent = `⚠ ${alert.emotion}`;
      badge.title = `${alert.rule}: ${alert.emotion} for ${Math.round(alert.held_s)} s (face ${alert.track})`;
      badge.hidden = false;
      this.root.classList.add("alerting");
      this.root.dataset.alert = alert.id;
      clearTimeout(this.alertTimer); // the badge fades after a minute; the alerts panel keeps the record
      const left = ALERT_BADGE_S - Math.max(0, Date.now() / 1000 - alert.ts);
      this.alertTimer = setTimeout(() => {
        badge.hidden = true;
        this.root.classList.remove("alerting");
      }, Math.max(left, 5) * 1000);
    }

    showSuggestion(reco) {
      this.root.dataset.suggested = "1";
      const section = this.root.querySelector(".suggestion");
      section.querySelector(".reason").textContent =
        `${reco.emotion} → ${reco.mood} (${reco.strategy}), ${new Date(reco.ts * 1000).toLocaleTimeString()}`;
      const list = section.querySelector(".tracks");
      list.replaceChildren();
      for (const t of reco.tracks) {
        const li = el("li", "track");
        li.dataset.source = t.source;
        const text = el("span", "what");
        text.append(el("span", "title", t.title), el("span", "artist", " — " + t.artist));
        if (t.reason) text.title = t.reason;
        const open = el("a", "open", "Open in Spotify");
        open.href = t.url;
        open.target = "_blank";
        open.rel = "noopener noreferrer";
        const preview = el("button", "preview", "Preview");
        preview.type = "button";
        preview.addEventListener("click", () => this.preview(t));
        li.append(text, open, preview);
        list.appendChild(li);
      }
      this.root.dataset.tracks = reco.tracks.length;
      section.classList.remove("fresh");
      void section.offsetWidth;
      section.classList.add("fresh");
    }

    // Playback is always the user's choice: a new suggestion never replaces what is playing.
    preview(track) {
      const player = this.root.querySelector(".player");
      player.replaceChildren();
      const close = el("button", "close", "×");
      close.type = "button";
      close.title = "close the preview";
      close.addEventListener("click", () => player.replaceChildren());
      let media;
      if (track.preview_url) {
        media = el("audio");
        media.controls = true;
        media.src = track.preview_url;
      } else {
        media = el("iframe");
        media.src = track.embed_url;
        media.allow = "encrypted-media";
        media.loading = "lazy";
        media.title = `${track.title} — ${track.artist}`;
      }
      player.append(el("span", "playing", `${track.title} — ${track.artist}`), close, media);
    }

    remove() {
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.root.remove();
    }
  }

  function focusCamera(camera) {
    for (const [id, tile] of tiles) tile.root.classList.toggle("focused", id === camera);
    grid.classList.toggle("has-focus", camera !== null && tiles.has(camera));
    document.getElementById("back").hidden = camera === null;
    const hash = camera ? `#camera=${encodeURIComponent(camera)}` : " ";
    history.replaceState(null, "", window.location.pathname + window.location.search + hash);
  }

  function syncTiles(cameras) {
    const seen = new Set();
    for (const cam of cameras) {
      seen.add(cam.camera);
      let tile = tiles.get(cam.camera);
      if (!tile) {
        tile = new Tile(cam.camera);
        tiles.set(cam.camera, tile);
        for (const ev of early.take(cam.camera)) deliver(tile, ev);
        const after = [...tiles.keys()].sort().find((id) => id > cam.camera && tiles.get(id).root.isConnected);
        grid.insertBefore(tile.root, after ? tiles.get(after).root : null);
        const wanted = new URLSearchParams(window.location.hash.slice(1)).get("camera");
        if (wanted === cam.camera) focusCamera(cam.camera);
      }
      tile.setState(cam);
    }
    for (const [id, tile] of tiles) {
      if (!seen.has(id)) {
        tile.remove();
        tiles.delete(id);
        if (grid.classList.contains("has-focus") && !grid.querySelector(".focused")) focusCamera(null);
      }
    }
    document.getElementById("empty").hidden = tiles.size > 0;
    grid.dataset.cameras = tiles.size;
  }

  // ----- system panel ---------------------------------------------------------------------------
  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    return typeof v === "number" && digits !== undefined ? v.toFixed(digits) : String(v);
  }

  function deliver(tile, ev) {
    if (ev.type === "emotion") tile.addEmotion(ev);
    else if (ev.type === "alert") tile.showAlert(ev);
    else tile.showSuggestion(ev);
  }

  // The alerts panel: newest first, the last 50; filled from the REST API on load, then by the feed.
  function listAlert(alert) {
    const list = document.getElementById("alert-list");
    if (list.querySelector(`[data-id="${alert.camera}/${alert.id}"]`)) return;
    const li = el("li", "alert");
    li.dataset.id = `${alert.camera}/${alert.id}`;
    li.dataset.alertCamera = alert.camera; // not data-camera: that names a tile
    const when = el("time", "", new Date(alert.ts * 1000).toLocaleTimeString());
    li.append(when, `${alert.camera}: ${alert.emotion} for ${Math.round(alert.held_s)} s (${alert.rule})`);
    list.prepend(li);
    while (list.children.length > 50) list.lastChild.remove();
    document.getElementById("alerts").hidden = false;
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

  function showStats(stats) {
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

  // ----- connection -----------------------------------------------------------------------------
  function setConnection(state, text) {
    document.body.dataset.connection = state;
    document.getElementById("connection").textContent = text;
  }

  function banner(text) {
    const b = document.getElementById("banner");
    b.textContent = text || "";
    b.hidden = !text;
  }

  function start() {
    if (typeof io !== "function") {
      banner(
        "The dashboard cannot serve its Socket.IO client (/vendor/socket.io.min.js), so nothing can show: " +
          "run `make install` in a source checkout, or reinstall the moodstream package.",
      );
      setConnection("error", "no client library");
      document.getElementById("empty").hidden = true; // not "no cameras": the page cannot know
      return;
    }
    const socket = io(CONFIG.feed, { auth: { token }, reconnectionDelayMax: 5000 });
    socket.on("connect", () => {
      setConnection("connected", "live");
      banner("");
      // The first time: the current state (retained). After a disconnection: what was missed (since).
      const request = { cameras: "*", frames: true, binary: true, max_fps: CONFIG.maxFps };
      if (seen.last) request.since = seen.last;
      socket.emit("subscribe", request, (reply) => {
        if (!reply || !reply.ok) banner("subscription refused: " + (reply && reply.error));
        else if (reply.gap) banner("Some events were missed while disconnected; showing the current state.");
      });
    });
    socket.on("disconnect", (reason) => setConnection("disconnected", "reconnecting… (" + reason + ")"));
    socket.on("connect_error", (err) => {
      const refused = /unauthorized/.test(err.message);
      setConnection(refused ? "refused" : "disconnected", refused ? "refused" : "reconnecting…");
      if (refused) {
        banner("The dashboard refused this page's token. Open the address printed by `moodstream url`.");
        socket.disconnect();
      }
    });
    socket.on("stats", showStats);
    api(`/api/alerts?since=${(Date.now() / 1000 - 3600).toFixed(0)}`).then((data) => {
      if (!data) return;
      for (const alert of data.alerts) {
        listAlert(alert);
        if (Date.now() / 1000 - alert.ts > ALERT_BADGE_S || !seen.add(alert)) continue;
        const tile = tiles.get(alert.camera); // a recent one also marks its camera's tile
        if (tile) tile.showAlert(alert);
        else early.keep(alert);
      }
    });
    for (const name of ["emotion", "recommendation", "alert"]) {
      socket.on(name, (ev) => {
        if (!seen.add(ev)) return; // the same event again, where replay meets live
        if (ev.type === "alert") listAlert(ev);
        const tile = tiles.get(ev.camera);
        if (tile) deliver(tile, ev);
        else early.keep(ev);
      });
    }
    socket.on("frame", (frame, ack) => {
      const tile = tiles.get(frame.camera);
      if (tile) tile.showFrame(frame, ack);
      else if (ack) ack();
    });
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
})();
