// What every part of the page shares: the server's config (the emotions and their colours come from
// there, as Python says them), and two small DOM and REST helpers.

export const CONFIG = JSON.parse(document.getElementById("config").textContent);
export const EMOTIONS = CONFIG.emotions;
export const COLORS = CONFIG.colors;

// The page is authorised by its session cookie (HttpOnly: this script never sees the token), which the
// dashboard set when the page was opened with `?token=` and then redirected to the bare address.

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function api(path) {
  return fetch(path, { credentials: "same-origin", cache: "no-store" })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null); // the dashboard restarting: callers treat it as no data
}
