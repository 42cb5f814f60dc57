// A camera's tile: its video with the smoother's boxes, its timeline, its current emotion, alert badge
// and suggestion, and playback that is always the viewer's choice.

import { ALERT_BADGE_S } from "./alerts.js";
import { COLORS, CONFIG, el } from "./page.js";
import { Timeline } from "./timeline.js";

// A link the provider's allow-list admits (CONFIG.links, from Python): anything else is not shown.
function allowed(field, url) {
  return typeof url === "string" && (CONFIG.links?.[field] || []).some((prefix) => url.startsWith(prefix));
}

export class Tile {
  // onFocus(camera or null): the page focuses one camera, or none.
  constructor(camera, onFocus) {
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
    this.showPrivacy(CONFIG.privacy?.[camera]);
    root.addEventListener("click", (ev) => {
      if (ev.target.closest("a, button, iframe, audio")) return;
      onFocus(root.classList.contains("focused") ? null : camera);
    });
    root.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && ev.target === root) onFocus(camera);
    });
  }

  // What the people filmed are told (notice), the masks' outlines (toggled), and, for an aggregate-only
  // camera, no video: its mood over time, reloaded as the rollups come, and its suggestion.
  showPrivacy(privacy) {
    if (!privacy) return;
    const root = this.root;
    if (privacy.notice) root.querySelector(".notice").textContent = privacy.notice;
    root.querySelector(".notice").hidden = !privacy.notice;
    root.dataset.blurred = privacy.blurred ? "1" : "";
    if (privacy.aggregate) {
      root.classList.add("aggregate");
      root.dataset.aggregate = "1";
      root.querySelector(".video").hidden = true;
      setInterval(() => this.timeline.load(this.timeline.range), 10000);
    }
    if (privacy.masks.length) this.showMasks(privacy.masks);
  }

  showMasks(masks) {
    const svg = this.root.querySelector(".masks");
    for (const mask of masks) {
      const poly = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
      poly.setAttribute("points", mask.points.map(([x, y]) => `${x},${y}`).join(" "));
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = mask.name || "privacy mask";
      poly.appendChild(title);
      svg.appendChild(poly);
    }
    const button = this.root.querySelector(".show-masks");
    button.hidden = false;
    button.addEventListener("click", () => {
      const shown = svg.toggleAttribute("hidden") === false; // an SVG element has no .hidden
      button.setAttribute("aria-pressed", String(shown));
    });
  }

  setState(cam) {
    const state = this.root.querySelector(".state");
    state.textContent = cam.state === "streaming" ? `${cam.fps.toFixed(1)} fps` : cam.state;
    state.title = cam.error || "";
    this.root.dataset.state = cam.state;
  }

  // The viewer's own webcam: their suggestion opens in Spotify's player at once (it plays only when
  // they press play).
  setOwn(own) {
    this.own = own;
    this.root.classList.toggle("own", own);
    this.root.dataset.own = own ? "1" : "";
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
      li.append(text);
      if (allowed("url", t.url)) {
        const open = el("a", "open", "Open in Spotify");
        open.href = t.url;
        open.target = "_blank";
        open.rel = "noopener noreferrer";
        li.append(open);
      }
      if (allowed("preview_url", t.preview_url) || allowed("embed_url", t.embed_url)) {
        const preview = el("button", "preview", "Preview");
        preview.type = "button";
        preview.addEventListener("click", () => this.preview(t));
        li.append(preview);
      }
      list.appendChild(li);
    }
    this.root.dataset.tracks = reco.tracks.length;
    const player = section.querySelector(".player");
    const first = reco.tracks.find((t) => allowed("embed_url", t.embed_url));
    if (this.own && first && !player.childElementCount) this.preview({ ...first, preview_url: null });
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
    if (allowed("preview_url", track.preview_url)) {
      media = el("audio");
      media.controls = true;
      media.src = track.preview_url;
    } else if (allowed("embed_url", track.embed_url)) {
      media = el("iframe");
      media.src = track.embed_url;
      media.allow = "encrypted-media";
      media.loading = "lazy";
      media.title = `${track.title} — ${track.artist}`;
    } else {
      return;
    }
    player.append(el("span", "playing", `${track.title} — ${track.artist}`), close, media);
  }

  remove() {
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.root.remove();
  }
}

