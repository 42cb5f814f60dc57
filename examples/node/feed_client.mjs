#!/usr/bin/env node
// Follow moodstream's live events from a Node.js app, over Socket.IO.
//
//   cd examples/node && npm ci
//   node feed_client.mjs --url "$(moodstream url)" --camera lobby
//
// Prints each emotion and recommendation event of the chosen cameras (all of them without --camera)
// as one JSON line. The token comes from the URL's ?token= or $MOODSTREAM_DASHBOARD_TOKEN.
// The first subscription starts with each camera's current state ("retained": true); after a lost
// connection it subscribes again with `since`, the id of the last event printed, and gets what it
// missed; an event that comes twice where replay meets live is printed once.
// Exit status: 0, or 1 when the dashboard refuses the token or the subscription.
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8050/" },
    camera: { type: "string", multiple: true },
    count: { type: "string", default: "0" },
    seconds: { type: "string", default: "0" },
  },
});
const url = new URL(args.url);
const token = url.searchParams.get("token") || process.env.MOODSTREAM_DASHBOARD_TOKEN || "";
const count = Number(args.count);
const seconds = Number(args.seconds);

const order = (id) => id.split("-").map(Number);
const newer = (a, b) => b === null || order(a)[0] > order(b)[0] || (order(a)[0] === order(b)[0] && order(a)[1] > order(b)[1]);
const seen = new Set(); // (type, camera, id): two streams can give two events the same id
let last = null;
let printed = 0;

const socket = io(`${url.origin}/feed`, { auth: { token }, transports: ["websocket"], reconnectionDelayMax: 5000 });

function finish(code, message) {
  if (message) console.error(message);
  socket.disconnect();
  process.exit(code);
}

socket.on("connect", () => {
  const request = { cameras: args.camera && args.camera.length ? args.camera : "*" };
  if (last !== null) request.since = last;
  socket.emit("subscribe", request, (reply) => {
    if (!reply || !reply.ok) finish(1, `subscription refused: ${reply && reply.error}`);
    else if (reply.gap) console.error("some events were missed while disconnected (gap)");
  });
});

socket.on("connect_error", (err) => {
  if (/unauthorized/.test(err.message)) finish(1, err.message); // retrying will not fix a wrong token
});

for (const name of ["emotion", "recommendation"]) {
  socket.on(name, (event) => {
    const key = `${event.type}/${event.camera}/${event.id}`;
    if (seen.has(key) || (count && printed >= count)) return;
    seen.add(key);
    if (seen.size > 10000) seen.delete(seen.values().next().value);
    if (newer(event.id, last)) last = event.id;
    console.log(JSON.stringify(event));
    printed += 1;
    if (count && printed >= count) finish(0);
  });
}

if (seconds > 0) setTimeout(() => finish(0), seconds * 1000);
process.on("SIGINT", () => finish(0));
