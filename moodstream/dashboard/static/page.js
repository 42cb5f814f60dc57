// What every part of the page shares: the server's config (the emotions and their colours come from
// there, as Python says them), the viewer's token, and two small DOM and REST helpers.

export const CONFIG = JSON.parse(document.getElementById("config").textContent);
export const EMOTIONS = CONFIG.emotions;
export const COLORS = CONFIG.colors;

const params = new URLSearchParams(window.location.search);
export const token = params.get("token") || "";
const authHeaders = token ? { Authorization: "Bearer " + token } : {};

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function api(path) {
  return fetch(path, { headers: authHeaders, cache: "no-store" })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null); // the dashboard restarting: callers treat it as no data
}
