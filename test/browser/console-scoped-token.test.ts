/**
 * The console signed in with a scoped token instead of the root key, in a real browser: it
 * lists only the topics the token may see, tails an allowed topic over a WebSocket that
 * carries the token in its URL, and shows the server's refusals (403) for what is out of scope.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName, type PublishResult } from "../e2e/clients";
import { useServer } from "../e2e/server";
import { pollUntil } from "../e2e/wait";
import { BrowserSession } from "./browser";
import { UI_TIMEOUT_MS, assertBuilt, signIn, tableCell, tailRows, waitForText } from "./console-page";

describe("console with a scoped token in Chromium", () => {
  const prefix = uniqueName("scoped");
  const allowed = `${prefix}.orders`;
  const hidden = uniqueName("elsewhere");
  const server = useServer({ beforeStart: assertBuilt });
  let browser: BrowserSession;
  let page: Page;
  let token: string;

  const publish = (topic: string, data: string) => call<PublishResult>(server, "POST", `/v1/topics/${topic}/messages`, { data }, 201);

  beforeAll(async () => {
    await publish(allowed, "first");
    await publish(hidden, "not for this token");
    // Names enter the directory in the background: wait until both are listed for the root key.
    await pollUntil(
      async () => {
        const { topics } = await call<{ topics: Array<{ name: string }> }>(server, "GET", "/v1/topics", undefined, 200);
        const names = topics.map((entry) => entry.name);
        return names.includes(allowed) && names.includes(hidden) ? true : undefined;
      },
      UI_TIMEOUT_MS,
      () => `both topics in GET /v1/topics`,
    );
    ({ token } = await call<{ token: string }>(server, "POST", "/v1/tokens", { scopes: { subscribe: [`${prefix}.*`] }, ttlSeconds: 600, subject: "console-viewer" }, 201));
    browser = await BrowserSession.launch();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("lists only the topics in scope and says whose token it is", async () => {
    await signIn(page, server.url, token);
    await waitForText(page.locator("#session-status"), /^Signed in with a scoped token for console-viewer, until /, "the session status");
    await waitForText(tableCell(page, "topics", allowed, "lastSeq"), "1", `the allowed topic ${allowed} in the topics table`);
    await expect(page.locator(`#topics-body tr[data-name="${hidden}"]`).count()).resolves.toBe(0);
  });

  it("tails the allowed topic live through a WebSocket authorised by the token in its URL", async () => {
    await page.getByRole("button", { name: `Tail ${allowed}`, exact: true }).click();
    await waitForText(page.locator("#tail-status"), /^Live: /, "the tail status");
    await publish(allowed, "second");
    let rows: Array<{ seq: number; data: string }> = [];
    await pollUntil(
      async () => {
        rows = await tailRows(page);
        return rows.length >= 2 ? true : undefined;
      },
      UI_TIMEOUT_MS,
      () => `2 messages in the tail; it shows ${JSON.stringify(rows)}`,
    );
    expect(rows).toEqual([
      { seq: 1, data: "first" },
      { seq: 2, data: "second" },
    ]);
    await browser.screenshot("scoped-1-tail");
  });

  it("shows the server's refusal for a topic out of scope and for a publish the token may not make", async () => {
    await page.getByLabel("Topic name").fill(hidden);
    await page.getByRole("button", { name: "Tail", exact: true }).click();
    await waitForText(page.locator("#tail-status"), new RegExp(`^Cannot tail ${hidden}: .*\\(forbidden\\)$`), "the tail status for an out-of-scope topic");

    await page.getByLabel("Name", { exact: true }).fill(allowed);
    await page.getByLabel("Data", { exact: true }).fill('"from the console"');
    await page.getByRole("button", { name: "Publish", exact: true }).click();
    await waitForText(page.locator("#publish-result"), /^Not published: .*\(forbidden\)$/, "the publish result");
    await browser.screenshot("scoped-2-refused");

    // Nothing was published by the refused attempt.
    const stats = await call<{ lastSeq: number }>(server, "GET", `/v1/topics/${allowed}`, undefined, 200);
    expect(stats.lastSeq).toBe(2);
    expect(browser.problems).toEqual([]);
  });
});
