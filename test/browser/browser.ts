/**
 * Debian's Chromium (installed by .ci/run as /usr/bin/chromium), driven by playwright-core.
 * Playwright never downloads a browser here: the executable is given, and each launch gets a
 * fresh profile directory that is removed on close. The flags keep Chromium off the network
 * it does not have (TOOLCHAIN.md, "Browser tests").
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Ignored by git (test-results/ in .gitignore). */
export const SCREENSHOT_DIR = path.join(repoRoot, "test-results/screenshots");

/** One headless Chromium with its own profile, and what the page reported that it should not. */
export class BrowserSession {
  /** Uncaught exceptions in the page and Content-Security-Policy violations. */
  readonly problems: string[] = [];

  private constructor(
    private readonly context: BrowserContext,
    private readonly profileDir: string,
    readonly page: Page,
  ) {}

  static async launch(): Promise<BrowserSession> {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(`${CHROMIUM_PATH} not found: install Debian's Chromium (apt-get install -y chromium; .ci/run does)`);
    }
    const profileDir = await mkdtemp(path.join(tmpdir(), "edgepost-chromium-"));
    let context: BrowserContext;
    try {
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1280, height: 900 },
        timeout: 30_000,
      });
    } catch (error) {
      await rm(profileDir, { recursive: true, force: true });
      throw error;
    }
    const page = context.pages()[0] ?? (await context.newPage());
    const session = new BrowserSession(context, profileDir, page);
    page.on("pageerror", (error) => session.problems.push(`uncaught in the page: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy/i.test(message.text())) session.problems.push(`CSP: ${message.text()}`);
    });
    return session;
  }

  /** A full-page PNG in test-results/screenshots/, for a person to look at. */
  async screenshot(name: string): Promise<string> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async close(): Promise<void> {
    try {
      await this.context.close();
    } finally {
      await rm(this.profileDir, { recursive: true, force: true });
    }
  }
}
