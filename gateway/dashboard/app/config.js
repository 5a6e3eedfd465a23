// The dashboard's run-time settings, served next to it (/config.json, rendered by devstack):
// where Supabase Auth is and its anon key. `apiBase` (default: the origin that served the
// app) lets the same files run on another origin, where CORS_ALLOWED_ORIGINS admits them.
let loaded = null;

export function config() {
  loaded ??= fetch(new URL("config.json", document.baseURI))
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}))
    .then((values) => ({ apiBase: "", ...values }));
  return loaded;
}
