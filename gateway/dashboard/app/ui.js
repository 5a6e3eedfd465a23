// Small pieces every screen uses: loading / empty / error states, forms, pages of results.
import { request } from "./api.js";
import { html, useCallback, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";

export { html };

/** Run `load` (an async function) when `deps` change: { data, error, loading, reload }. */
export function useAsync(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then((data) => live && setState({ data, error: null, loading: false }),
                (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, round]);
  return { ...state, reload: useCallback(() => setRound((n) => n + 1), []) };
}

/** An action started from a button or form: [run, busy, error, setError]. While it runs
 *  `busy` is true and the button is disabled, so a double click starts it once. */
export function useAction(action) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (...args) => {
    if (busy) return undefined;
    setBusy(true);
    setError(null);
    try {
      return await action(...args);
    } catch (failure) {
      setError(failure);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, error, setError];
}

/** The fields of a submitted form, trimmed; empty ones left out. */
export function formValues(event) {
  event.preventDefault();
  const values = {};
  for (const [name, value] of new FormData(event.target)) {
    const text = typeof value === "string" ? value.trim() : value;
    if (text !== "") values[name] = text;
  }
  return values;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** An API error in the API's words, with what was wrong with each field. */
export function ErrorBox({ error }) {
  if (!error) return null;
  const details = (error.details || []).filter((d) => d && (d.field || d.problem));
  return html`<div class="error" role="alert">
    <strong>${error.message}</strong>
    ${details.length > 0 && html`<ul>${details.map((d) =>
      html`<li>${d.field ? `${d.field}: ` : ""}${d.problem || JSON.stringify(d)}</li>`)}</ul>`}
    ${error.requestId && html`<div class="muted"><small>request ${error.requestId}</small></div>`}
  </div>`;
}

export function Notice({ children }) {
  return children ? html`<div class="notice" role="status">${children}</div>` : null;
}

export function Field({ label, name, type = "text", ...rest }) {
  return html`<label>${label}<input name=${name} type=${type} ...${rest} /></label>`;
}

export function Submit({ busy, children, ...rest }) {
  return html`<button class="primary" type="submit" disabled=${busy} ...${rest}>
    ${busy ? "Please wait…" : children}</button>`;
}

export function Badge({ status }) {
  return html`<span class=${`badge ${status}`}>${status.replace(/_/g, " ")}</span>`;
}

export function money(amount, currency) {
  return amount === null || amount === undefined ? "—" : `${currency} ${amount}`;
}

/** Where a page of results is, and buttons to the previous and next page. */
export function Pager({ page, onOffset }) {
  if (!page || page.total <= page.limit) return null;
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.data.length;
  return html`<nav class="pager" aria-label="pages">
    <button type="button" disabled=${page.offset === 0}
            onClick=${() => onOffset(Math.max(0, page.offset - page.limit))}>Previous</button>
    <span>${first}–${last} of ${page.total}</span>
    <button type="button" disabled=${page.next_offset === null}
            onClick=${() => onOffset(page.next_offset)}>Next</button>
  </nav>`;
}

/** A screen's data: loading, then an error or the content. */
export function Loaded({ state, children }) {
  if (state.loading && !state.data) return html`<${Loading} />`;
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  return children(state.data);
}

export function go(path) {
  window.location.hash = path;
}

/** A list screen: the page of `path` for the route's `status` and `offset`, and `act(id,
 *  action)`, which POSTs `path/id/action` (approve, publish, confirm, cancel...) and reloads. */
export function useRowActions(path, params, defaultStatus = "") {
  const status = params.get("status") ?? defaultStatus;
  const offset = Number(params.get("offset") || 0);
  const list = useAsync(() => request("GET", path, { query: { status, offset, limit: 20 } }),
                        [path, status, offset]);
  const [act, acting, actError] = useAction(async (id, action) => {
    await request("POST", `${path}/${id}/${action}`);
    list.reload();
  });
  const toOffset = (next) => go(`${window.location.hash.slice(1).split("?")[0]}?${
    new URLSearchParams({ ...(status ? { status } : {}), offset: next })}`);
  return { status, list, act, acting, actError, toOffset };
}

/** Buttons that filter a list by status ("" is all). */
export function StatusTabs({ statuses, current, route }) {
  return html`<div class="tabs" role="group" aria-label="status">
    ${statuses.map((s) => html`<button type="button" aria-pressed=${s === current}
      onClick=${() => go(`${route}?status=${s}`)}>${s || "all"}</button>`)}
  </div>`;
}
