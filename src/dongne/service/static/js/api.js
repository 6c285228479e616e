// The dongne API, spoken to from the page. Requests go to the server that served the
// dashboard (paths relative to it), with the token as "Authorization: Bearer ...".

const TOKEN_KEY = "dongne.token";

/** An error answer of the API: HTTP status and the server's message (which names the fix). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The API root: the folder above /dashboard/, so a reverse proxy may mount it anywhere. */
const ROOT = new URL("../", document.baseURI);

/** The absolute URL of an API path (such as a signed link the API returned). */
export function apiUrl(path) {
  return new URL(path.replace(/^\//, ""), ROOT);
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Call the API. `path` is like "workspaces/city/datasets"; options: method, query (object),
 * json (a body sent as JSON), body (raw body, e.g. a File), as ("json" | "text" | "response").
 */
export async function api(path, { method = "GET", query, json, body, as = "json" } = {}) {
  const url = apiUrl(path);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Authorization: `Bearer ${storedToken() ?? ""}` };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/octet-stream";
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, err.message);
  }
  if (!response.ok) {
    let message = response.statusText;
    try {
      const detail = (await response.json()).detail;
      message = typeof detail === "string" ? detail : JSON.stringify(detail);
    } catch {
      /* not JSON: keep the status text */
    }
    throw new ApiError(response.status, message);
  }
  if (as === "response") return response;
  if (as === "text") return response.text();
  return response.status === 204 ? null : response.json();
}
