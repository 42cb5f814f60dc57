// The viewer's own webcam as a camera: "Use my camera" asks the browser for it (getUserMedia, which
// browsers allow over HTTPS or on localhost only) and sends JPEG frames over the page's authenticated
// Socket.IO connection, at most the server's fps and width. Each frame waits for the server's reply
// before the next is taken, so a slow link sends fewer frames rather than queueing them. The server
// publishes them as camera `browser-…`; its tile is this viewer's own, with their emotion and
// suggestion. Stopping (or leaving the page) removes the camera.

import { CONFIG } from "./page.js";
import { banner } from "./connection.js";

export class OwnCamera {
  // onChange(camera id or null): the page marks (or unmarks) the viewer's own tile.
  constructor(socket, button, onChange) {
    this.socket = socket;
    this.button = button;
    this.onChange = onChange;
    this.cfg = CONFIG.browserCameras || { enabled: false };
    this.stream = null;
    this.camera = null;
    this.timer = null;
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.canvas = document.createElement("canvas");
    button.hidden = !this.cfg.enabled;
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      // Not a secure context: browsers offer cameras to HTTPS pages and localhost only.
      button.disabled = true;
      button.title = "Browsers allow the camera only on pages served over HTTPS or from localhost.";
    }
    button.addEventListener("click", () => (this.stream ? this.stop() : this.start()));
    // A reconnection ends the camera on the server's side: start it again if the viewer had it on. (A
    // start sent before the first connection is buffered and delivered then: not sent twice.)
    socket.on("connect", () => {
      if (this.stream && this.camera) this.announce();
    });
  }

  async start() {
    this.setButton("starting");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: this.cfg.maxWidth }, frameRate: { ideal: this.cfg.fps } },
        audio: false,
      });
    } catch (err) {
      this.stream = null;
      this.setButton("off");
      banner(`The browser gave no camera (${err.name}): allow it, and use HTTPS or localhost.`);
      return;
    }
    this.video.srcObject = this.stream;
    await this.video.play();
    this.announce();
  }

  announce() {
    this.socket.emit("camera_start", {}, (reply) => {
      if (!reply || !reply.ok) {
        banner("Your camera was refused: " + (reply ? reply.error : "no reply"));
        this.stop();
        return;
      }
      this.camera = reply.camera;
      this.cfg = { ...this.cfg, fps: reply.fps, maxWidth: reply.max_width };
      this.setButton("on");
      this.onChange(this.camera);
      this.schedule(0);
    });
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sendFrame(), delay);
  }

  sendFrame() {
    if (!this.stream || !this.camera || !this.socket.connected) return;
    const started = performance.now();
    const period = 1000 / this.cfg.fps;
    const vw = this.video.videoWidth;
    const vh = this.video.videoHeight;
    if (!vw || !vh) return this.schedule(period);
    const scale = Math.min(1, this.cfg.maxWidth / vw);
    this.canvas.width = Math.round(vw * scale);
    this.canvas.height = Math.round(vh * scale);
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    this.canvas.toBlob(
      async (blob) => {
        if (!blob || !this.stream) return;
        const jpeg = await blob.arrayBuffer();
        this.socket.emit("camera_frame", { jpeg }, (reply) => {
          if (reply && !reply.ok) banner("A frame of your camera was refused: " + reply.error);
          this.button.dataset.sent = String(Number(this.button.dataset.sent || 0) + 1);
          this.schedule(Math.max(0, period - (performance.now() - started)));
        });
      },
      "image/jpeg",
      0.8,
    );
  }

  stop() {
    clearTimeout(this.timer);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    if (this.camera) this.socket.emit("camera_stop", {});
    this.camera = null;
    this.setButton("off");
    this.onChange(null);
  }

  setButton(state) {
    this.button.dataset.state = state;
    this.button.textContent = state === "on" ? "Stop my camera" : "Use my camera";
    this.button.setAttribute("aria-pressed", String(state === "on"));
    if (this.camera) this.button.dataset.ownCamera = this.camera;
    else delete this.button.dataset.ownCamera;
  }
}
