// Calls to the platform's API through the gateway, and its errors in the API's own words.
import { config } from "./config.js";

/** An answer that is not a success, as the API said it (`{"error": {...}}`). */
export class ApiError extends Error {
  constructor(status, body, requestId) {
    const error = (body && body.error) || {};
    super(error.message || `the request failed (HTTP ${status})`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = error.details || [];
    this.requestId = error.request_id || requestId || null;
  }
}

// Where the bearer token comes from: set by auth.js, the one module that signs people in.
let tokens = { access: async () => null, renew: async () => false };
export function useTokensFrom(source) {
  tokens = source;
}

function url(base, path, query) {
  const target = new URL(base + path, window.location.href);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, value);
  }
  return target;
}

/**
 * One API call: JSON in and out, the caller's token attached, one retry after renewing an
 * expired token. Throws ApiError; a network failure is status 0, code `network_error`.
 */
export async function request(method, path, { body, query, headers = {}, auth = true } = {}) {
  const { apiBase } = await config();
  const send = async () => {
    const sent = { ...headers };
    if (body !== undefined) sent["Content-Type"] = "application/json";
    const token = auth ? await tokens.access() : null;
    if (token) sent.Authorization = `Bearer ${token}`;
    try {
      return await fetch(url(apiBase, path, query), {
        method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { error: { code: "network_error",
        message: "The platform could not be reached: check the connection and try again." } });
    }
  };
  let response = await send();
  if (response.status === 401 && auth && (await tokens.renew())) response = await send();
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get("X-Request-ID"));
  return data;
}
