/**
 * Reading and driving the console page (public/index.html) from a test: sign in, wait for a
 * text, read the live tail's rows and the tables' count cells. Selectors go by label and role
 * where the page has them, so the tests also check that the page is labelled.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Locator, Page } from "playwright-core";
import { pollUntil } from "../e2e/wait";

/** The console polls every 2-3 s and the directory registers names in the background. */
export const UI_TIMEOUT_MS = 15_000;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The bundled worker and the console's SDK bundle must be built before the server starts. */
export function assertBuilt(): void {
  for (const built of ["dist/index.js", "public/sdk/edgepost.js"]) {
    if (!existsSync(path.join(repoRoot, built))) throw new Error(`${built} is missing: run \`npm run build\` first (npm run test:browser does)`);
  }
}

/** Wait until `locator`'s text matches; the failure says what was expected and last seen. */
export async function waitForText(locator: Locator, expected: string | RegExp, what: string): Promise<string> {
  let last: string | null = null;
  const matches = (text: string) => (typeof expected === "string" ? text === expected : expected.test(text));
  return pollUntil(
    async () => {
      last = ((await locator.textContent({ timeout: UI_TIMEOUT_MS })) ?? "").trim();
      return matches(last) ? last : undefined;
    },
    UI_TIMEOUT_MS,
    () => `${what}: expected ${String(expected)}, the page shows ${JSON.stringify(last)}`,
    100,
  );
}

/** Open the console and sign in with `token`; resolves once the console says it is signed in. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url + "/");
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await waitForText(page.locator("#session-status"), /^Signed in/, "the session status after signing in");
}

/** The live tail's rows, top to bottom: seq and data as displayed. */
export function tailRows(page: Page): Promise<Array<{ seq: number; data: string }>> {
  return page
    .locator("#tail-log li")
    .evaluateAll((items) => items.map((item) => ({ seq: Number((item as HTMLElement).dataset.seq), data: item.querySelector(".data")?.textContent ?? "" })));
}

/** A table row's count cell, by the row's name and the column's stats field. */
export function tableCell(page: Page, kind: "topics" | "queues", name: string, field: string): Locator {
  return page.locator(`#${kind}-body tr[data-name="${name}"] td[data-field="${field}"]`);
}
