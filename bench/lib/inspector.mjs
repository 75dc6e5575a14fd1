/**
 * A minimal Chrome DevTools Protocol client on workerd's V8 inspector (the isolate that runs
 * edgepost's worker and all its Durable Objects: target `core:user:`), and CPU profiles of it.
 * `scripts/serve.mjs --inspector-port 0` prints the inspector's URL; bench/profile.mjs starts
 * Miniflare with a fixed port instead.
 */
import WebSocket from "ws";

const TARGET = "core:user:";

export async function connectInspector(inspectorUrl) {
  const base = inspectorUrl.replace(/^ws/, "http").replace(/\/$/, "");
  const targets = await (await fetch(`${base}/json`)).json();
  const target = targets.find((candidate) => candidate.id === TARGET || candidate.title?.includes(TARGET)) ?? targets.find((candidate) => !String(candidate.title).includes("miniflare"));
  if (!target) throw new Error(`no inspector target ${TARGET}; targets: ${targets.map((candidate) => candidate.id).join(", ")}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let nextId = 1;
  const pending = new Map();
  socket.on("message", (buf) => {
    const message = JSON.parse(buf.toString());
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (message) => (message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result)));
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { target: target.title ?? target.id, send, close: () => socket.close() };
}

/** Profile the isolate while `work()` runs (sampling every `intervalUs`); returns both results. */
export async function profileWhile(inspector, work, intervalUs = 200) {
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await inspector.send("Profiler.start");
  let result;
  try {
    result = await work();
  } finally {
    var { profile } = await inspector.send("Profiler.stop");
  }
  return { result, profile };
}
