/**
 * Open files for workerd (issue 11: reconnect storms). Every connection workerd holds, a
 * WebSocket included, costs it two descriptors: it dups each accepted socket (strace of
 * workerd 1.20261117.1 under scripts/serve.mjs, 2026-12-02: accept4 then
 * fcntl(F_DUPFD_CLOEXEC); 300 keep-alive connections to a bare `workerd serve` held 512 more
 * descriptors). So 10,000 subscribers need over 20,000 descriptors, and an open-file limit
 * below that makes workerd fail with "Too many open files" (issue 11 saw it at 5,000 through
 * `wrangler dev`, whose proxy adds two more per connection).
 *
 * Node raises its own soft limit to the hard limit at startup, and workerd inherits it, so the
 * hard limit is what counts. Only a privileged process can raise a hard limit: when this one is
 * root and `prlimit` exists we try (a container without CAP_SYS_RESOURCE refuses, which is
 * fine); otherwise we say how many connections fit and how to raise it.
 */
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";

export const DESCRIPTORS_PER_CONNECTION = 2;
/** Descriptors workerd holds besides connections: databases, listeners, its own pipes. */
const BASE_DESCRIPTORS = 200;
/** What we ask for when we may: four objects' worth of sockets (10,000 each) and more. */
const WANTED = 65_536;
/** One object's socket limit (src/protocol/limits.ts): below this many, say so at startup. */
const WARN_BELOW_CONNECTIONS = 10_000;

/** The soft and hard open-file limits of this process (a shell inherits them). */
function readLimits() {
  try {
    const [soft, hard] = execFileSync("sh", ["-c", "ulimit -Sn; ulimit -Hn"], { encoding: "utf8" }).trim().split("\n");
    const value = (text) => (text === "unlimited" ? Number.POSITIVE_INFINITY : Number(text));
    return { soft: value(soft), hard: value(hard) };
  } catch {
    return null;
  }
}

function tryRaise(limits) {
  if (limits.hard >= WANTED || process.platform !== "linux" || process.getuid?.() !== 0) return limits;
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${WANTED}:${WANTED}`], { stdio: "ignore" });
  } catch {
    return limits;
  }
  return readLimits() ?? limits;
}

export function connectionsFor(descriptors) {
  return Math.max(0, Math.floor((descriptors - BASE_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION));
}

/**
 * Raise the open-file limit workerd will inherit where we can, and warn (on `warn`) when it
 * allows fewer connections than one object's socket limit. Returns the limits and that count.
 */
export function prepareOpenFiles(warn) {
  const before = readLimits();
  if (!before) return null;
  const limits = tryRaise(before);
  const connections = connectionsFor(limits.soft);
  if (connections < WARN_BELOW_CONNECTIONS) {
    warn(
      `open-file limit ${limits.soft} (hard ${limits.hard}): workerd holds two descriptors per connection, so about ${connections} WebSockets fit; ` +
        "raise the hard limit for more (as root: `ulimit -Hn 65536`; /etc/security/limits.conf nofile; systemd LimitNOFILE=; docker run --ulimit nofile=65536)",
    );
  }
  return { ...limits, connections };
}

/**
 * `node scripts/fd-limit.mjs --connections <n>`: exit 1, saying why, when workerd started from
 * here could not hold n connections (npm run test:scale checks before its 10,000 subscribers).
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf("--connections");
  const wanted = Number(at >= 0 ? process.argv[at + 1] : WARN_BELOW_CONNECTIONS);
  const limits = prepareOpenFiles(() => {});
  if (limits && limits.connections < wanted) {
    process.stderr.write(
      `fd-limit: ${wanted} connections need about ${wanted * DESCRIPTORS_PER_CONNECTION + BASE_DESCRIPTORS} open files in workerd (two per connection); ` +
        `the limit here is ${limits.soft} (hard ${limits.hard}), enough for about ${limits.connections}. Raise the hard limit, or run fewer (EDGEPOST_SCALE_SUBSCRIBERS=${limits.connections}).\n`,
    );
    process.exit(1);
  }
}
