/**
 * A small keep-alive HTTP/1.1 client on node:http: cheaper per request than fetch, so the load
 * generator's core is spent on load, not on the client. Every answer is returned with its
 * status and body text; the scenarios decide what counts as a failure.
 */
import http from "node:http";

export class HttpClient {
  constructor(baseUrl, { maxSockets = 128, headers = {} } = {}) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.headers = headers;
    this.maxSockets = maxSockets;
    this.fresh();
  }

  /**
   * Drop idle keep-alive connections. Call before each run: a connection left idle (while
   * 1,000 subscribers connect, say) may be closed by the server just as it is reused, and
   * that request then fails with "socket hang up" without saying whether it was processed.
   */
  fresh() {
    this.agent?.destroy();
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.maxSockets, maxFreeSockets: this.maxSockets });
  }

  request(method, path, body) {
    return new Promise((resolve, reject) => {
      const headers = { ...this.headers };
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  post(path, body) {
    return this.request("POST", path, body);
  }

  put(path, body) {
    return this.request("PUT", path, body);
  }

  get(path) {
    return this.request("GET", path);
  }

  close() {
    this.agent.destroy();
  }
}

/** Parse a JSON answer, or throw with the status and text (for setup calls that must work). */
export async function expectJson(promise, what) {
  const response = await promise;
  if (response.status < 200 || response.status >= 300) throw new Error(`${what}: HTTP ${response.status} ${response.text.slice(0, 300)}`);
  return JSON.parse(response.text);
}
