// The page's one Socket.IO connection to /feed: its state in the header, the banner, and the
// subscription, which asks for the current state the first time and for what was missed after a
// disconnection (since).

import { CONFIG } from "./page.js";

export function setConnection(state, text) {
  document.body.dataset.connection = state;
  document.getElementById("connection").textContent = text;
}

export function banner(text) {
  const b = document.getElementById("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

// lastSeen(): the newest event id the page has (or null); on(name, handler) for each feed event.
export function connect(lastSeen, handlers) {
  if (typeof io !== "function") {
    banner(
      "The dashboard cannot serve its Socket.IO client (/vendor/socket.io.min.js), so nothing can show: " +
        "run `make install` in a source checkout, or reinstall the moodstream package.",
    );
    setConnection("error", "no client library");
    document.getElementById("empty").hidden = true; // not "no cameras": the page cannot know
    return null;
  }
  // Same origin: the session cookie goes with the handshake, and no token is in any URL.
  const socket = io(CONFIG.feed, { withCredentials: true, reconnectionDelayMax: 5000 });
  socket.on("connect", () => {
    setConnection("connected", "live");
    banner("");
    const request = { cameras: "*", frames: true, binary: true, max_fps: CONFIG.maxFps };
    const since = lastSeen();
    if (since) request.since = since;
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
  for (const [name, handler] of Object.entries(handlers)) socket.on(name, handler);
  return socket;
}
