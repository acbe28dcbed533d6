// The HTTP API of newsrag, as the page uses it: JSON calls and the /ask/stream event stream.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) {
      return new ApiError(response.status, body.error.code, body.error.message);
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`);
}

// A server started with RAG_API_KEY answers 401 without it: ask once, keep it for this browser session.
const KEY_ITEM = "newsrag-api-key";

async function send(path, init) {
  for (let attempt = 0; ; attempt += 1) {
    const key = sessionStorage.getItem(KEY_ITEM);
    const headers = { ...init.headers, ...(key ? { authorization: `Bearer ${key}` } : {}) };
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401 || attempt > 0) return response;
    if (!(await askForKey(key))) return response;
  }
}

let asking = null; // calls refused at the same time share one prompt

function askForKey(rejected) {
  if (sessionStorage.getItem(KEY_ITEM) !== rejected) return Promise.resolve(true); // another call got one
  asking ??= Promise.resolve().then(() => {
    const entered = window.prompt("This newsrag server needs an API key:");
    asking = null;
    if (!entered) return false;
    sessionStorage.setItem(KEY_ITEM, entered.trim());
    return true;
  });
  return asking;
}

export async function getJson(path) {
  const response = await send(path, { headers: { accept: "application/json" } });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function postJson(path, body) {
  const response = await send(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

// One SSE frame (its lines: "event: x", "data: {...}") to [name, data]; pings (comments) give null.
function parseFrame(lines) {
  let name = "message";
  const data = [];
  for (const line of lines) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? [name, JSON.parse(data.join("\n"))] : null;
}

// POST /ask/stream; calls handlers[eventName](data) for sources, delta, restart, answer, done, error.
export async function streamAsk(body, handlers) {
  const response = await send("/ask/stream", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let lines = [];
  let finished = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    // Lines end with CRLF, LF or CR (the SSE spec allows each); a blank line ends a frame.
    for (let end = /\r\n|\n|\r/.exec(buffer); end; end = /\r\n|\n|\r/.exec(buffer)) {
      if (end[0] === "\r" && end.index === buffer.length - 1) break; // its LF may be in the next chunk
      const line = buffer.slice(0, end.index);
      buffer = buffer.slice(end.index + end[0].length);
      if (line !== "") {
        lines.push(line);
        continue;
      }
      const parsed = parseFrame(lines);
      lines = [];
      if (!parsed) continue;
      const [name, data] = parsed;
      if (name === "done" || name === "error") finished = true;
      handlers[name]?.(data);
    }
  }
  if (!finished) {
    throw new ApiError(0, "stream_cut", "The connection closed before the answer was complete.");
  }
}
