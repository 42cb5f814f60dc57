// One camera's mood over time (uPlot, served like socket.io-client): history from the timeline
// endpoint, then live events.

import { api, COLORS, CONFIG, el, EMOTIONS } from "./page.js";

// The ranges the chart offers, each with the bucket the timeline endpoint sums events into: about
// 300 points whatever the range. Buckets of 10 s and more come from the rollup stage's buckets.
export const RANGES = [
  { s: 300, bucket: 1, label: "5 min" },
  { s: 3600, bucket: 10, label: "1 h" },
  { s: 86400, bucket: 300, label: "24 h" },
];
export const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
const clock = (ts, seconds) =>
  new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined });

// One camera's mood over time: the mean of its faces' probabilities per bucket, one line per emotion
// (uPlot, served like socket.io-client). History comes from the timeline endpoint, then live events.
export class Timeline {
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

