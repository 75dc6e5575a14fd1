/**
 * The SDK in Chromium the two ways a web app gets it, each page served from its own origin
 * (a static site on another port) and talking to the worker across origins:
 * - bundled: `npm install ./edgepost-client-<version>.tgz` in a project outside the repo, a
 *   page importing `@edgepost/client`, bundled by esbuild (the `browser` condition);
 * - without a bundler: `<script type="module">` importing the worker's `/sdk/edgepost.js`.
 * Also the module's caching: `/sdk/edgepost-<version>.js` immutable for a year,
 * `/sdk/edgepost.js` revalidated with its ETag.
 */
import { mkdir } from "node:fs/promises";
import { build } from "esbuild";
import type { ConsoleMessage, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../e2e/clients";
import { CLIENT_TARBALL, ScratchProject, VERSION, assertPacked } from "../e2e/packages";
import { ROOT_KEY, useServer } from "../e2e/server";
import { BrowserSession } from "./browser";
import { UI_TIMEOUT_MS, assertBuilt } from "./console-page";
import { StaticSite } from "./static-site";

/**
 * The page's program after its import of `Edgepost`: subscribe, publish three messages,
 * read them back, and put the outcome (or the error) in #out.
 */
const PAGE_PROGRAM = `
const params = new URLSearchParams(location.search);
const out = document.getElementById("out");
try {
  const client = new Edgepost({ url: params.get("url"), token: params.get("token") });
  const topic = params.get("topic");
  const subscription = client.subscribe(topic, { after: 0 });
  const published = [];
  for (let n = 1; n <= 3; n++) published.push((await client.publish(topic, { n, from: document.title })).seq);
  const received = [];
  for await (const message of subscription) {
    received.push({ seq: message.seq, data: message.data });
    if (received.length === published.length) break;
  }
  out.textContent = JSON.stringify({ published, received });
} catch (error) {
  out.textContent = JSON.stringify({ error: String(error) });
}
out.dataset.done = "true";
`;

const page = (title: string, script: string) =>
  `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title>${script}</head><body><pre id="out"></pre></body></html>\n`;

interface Outcome {
  published?: number[];
  received?: Array<{ seq: number; data: unknown }>;
  error?: string;
}

const server = useServer({
  beforeStart: () => {
    assertBuilt();
    assertPacked();
  },
});
let project: ScratchProject;
let site: StaticSite;
let browser: BrowserSession;

beforeAll(async () => {
  project = await ScratchProject.create("browser");
  await project.install(CLIENT_TARBALL);
  await mkdir(project.path("www"));
  await project.write("app.js", `import { Edgepost } from "@edgepost/client";\n${PAGE_PROGRAM}`);
  // As the app's build would: esbuild resolves @edgepost/client from the project's node_modules.
  await build({
    absWorkingDir: project.dir,
    entryPoints: ["app.js"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: project.path("www/app.js"),
    logLevel: "warning",
  });
  await project.write("www/bundled.html", page("bundled", `<script type="module" src="/app.js"></script>`));
  await project.write(
    "www/no-bundler.html",
    page("no bundler", `<script type="module">\nimport { Edgepost } from "${server.url}/sdk/edgepost.js";\n${PAGE_PROGRAM}</script>`),
  );
  site = await StaticSite.start(project.path("www"));
  browser = await BrowserSession.launch();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await project?.dispose();
});

/** Open the page and wait for its outcome; a page that never finishes fails with what the console said. */
async function runPage(p: Page, file: string, topic: string): Promise<Outcome> {
  const said: string[] = [];
  const listen = (message: ConsoleMessage) => said.push(`${message.type()}: ${message.text()}`);
  p.on("console", listen);
  try {
    const query = new URLSearchParams({ url: server.url, token: ROOT_KEY, topic });
    await p.goto(`${site.url}/${file}?${query}`);
    const out = p.locator("#out[data-done]");
    await out.waitFor({ timeout: UI_TIMEOUT_MS }).catch((error: unknown) => {
      throw new Error(`${file} did not finish: ${String(error)}\nconsole: ${said.join("\n") || "(nothing)"}\nproblems: ${browser.problems.join("\n")}`);
    });
    return JSON.parse((await out.textContent()) ?? "null") as Outcome;
  } finally {
    p.off("console", listen);
  }
}

const expected = (from: string) => ({
  published: [1, 2, 3],
  received: [1, 2, 3].map((n) => ({ seq: n, data: { n, from } })),
});

describe("the SDK in Chromium, on a page of another origin", () => {
  it("bundled by esbuild from the installed @edgepost/client tarball: publishes and subscribes", async () => {
    expect(await runPage(browser.page, "bundled.html", uniqueName("pkg-bundled"))).toEqual(expected("bundled"));
    expect(browser.problems).toEqual([]);
  });

  it("without a bundler, importing the worker's /sdk/edgepost.js: publishes and subscribes", async () => {
    const modules: string[] = [];
    browser.page.on("response", (response) => {
      if (response.url().includes("/sdk/")) modules.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
    expect(await runPage(browser.page, "no-bundler.html", uniqueName("pkg-sdk"))).toEqual(expected("no bundler"));
    expect(modules).toContain("200 /sdk/edgepost.js");
    expect(browser.problems).toEqual([]);
  });
});

describe("/sdk/ caching", () => {
  it("serves /sdk/edgepost-<version>.js immutable for a year and /sdk/edgepost.js revalidated by ETag, both importable from any origin", async () => {
    const versioned = await fetch(`${server.url}/sdk/edgepost-${VERSION}.js`);
    expect(versioned.status).toBe(200);
    expect(versioned.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(versioned.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(versioned.headers.get("access-control-allow-origin")).toBe("*");
    const versionedBody = await versioned.text();

    const latest = await fetch(`${server.url}/sdk/edgepost.js`);
    expect(latest.status).toBe(200);
    expect(latest.headers.get("cache-control")).toBe("public, max-age=0, must-revalidate");
    expect(latest.headers.get("access-control-allow-origin")).toBe("*");
    // The deployed version under both names.
    expect(await latest.text()).toBe(versionedBody);
    const etag = latest.headers.get("etag");
    expect(etag).toMatch(/^"[^"]+"$/);

    const revalidated = await fetch(`${server.url}/sdk/edgepost.js`, { headers: { "If-None-Match": etag! } });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe("");

    // A version this deployment does not have is not found (not some other version).
    expect((await fetch(`${server.url}/sdk/edgepost-0.0.0-nope.js`)).status).toBe(404);
  });
});
