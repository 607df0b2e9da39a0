// The one door to the companion's REST API. Every call checks `response.ok`
// and turns the companion's `{"error", "code"}` into an ApiError carrying the
// companion's own text, so views can show it as is (style.md, web client 12).
// A 401 means this device is no longer paired: the controller is told once per
// call, it decides what the page does (back to pairing).

const DEFAULT_TIMEOUT_MS = 25_000; // above the companion's 18 s pairing wait

/** A failed request: `status` 0 means the companion could not be reached. */
export class ApiError extends Error {
  /**
   * @param {number} status  HTTP status, 0 for network failure or timeout
   * @param {string} code    the companion's `code`, or "network" / "timeout" / "http_N"
   * @param {string} message the companion's own `error` text
   */
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {{ base?: string, getToken: () => (string | null),
 *           onUnauthorized?: (error: ApiError) => void, timeoutMs?: number }} options
 */
export function createApi({ base = "", getToken, onUnauthorized = () => {}, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  /**
   * @param {string} method
   * @param {string} path  e.g. "/v1/chats"
   * @param {unknown} [body]
   * @param {{ signal?: AbortSignal, timeoutMs?: number }} [options]
   */
  async function request(method, path, body, options = {}) {
    const headers = { Accept: "application/json" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), options.timeoutMs ?? timeoutMs);
    const signal = options.signal ? anySignal([options.signal, timeout.signal]) : timeout.signal;
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
        credentials: "omit",
        redirect: "error",
      });
    } catch (error) {
      clearTimeout(timer);
      if (options.signal?.aborted) throw error; // the caller's own abort: not an error to show
      if (timeout.signal.aborted) throw new ApiError(0, "timeout", "The computer did not answer in time");
      throw new ApiError(0, "network", "Cannot reach your computer");
    }
    let payload = null;
    try {
      const text = await response.text();
      payload = text ? JSON.parse(text) : null;
    } catch {
      payload = null;
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      const message =
        payload && typeof payload.error === "string" && payload.error
          ? payload.error
          : `Request failed with status ${response.status}`;
      const code = payload && typeof payload.code === "string" ? payload.code : `http_${response.status}`;
      const error = new ApiError(response.status, code, message);
      if (response.status === 401 && token) onUnauthorized(error);
      throw error;
    }
    if (payload && typeof payload === "object" && !Array.isArray(payload) && "data" in payload) {
      return payload.data;
    }
    return payload;
  }

  return {
    request,
    get: (path, options) => request("GET", path, undefined, options),
    post: (path, body = {}, options) => request("POST", path, body, options),
    patch: (path, body = {}, options) => request("PATCH", path, body, options),
    del: (path, options) => request("DELETE", path, undefined, options),
  };
}

/** An AbortSignal that aborts when any of `signals` does (AbortSignal.any is too new for iOS 16). */
function anySignal(signals) {
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort();
      break;
    }
    signal.addEventListener("abort", () => controller.abort(), { once: true });
  }
  return controller.signal;
}
