/**
 * The console page (public/, served as wrangler static assets at `/`) in a real browser,
 * against the bundled worker on workerd: sign in with the root key, tail a topic live through
 * the SDK while the test publishes over HTTP, watch a queue's counts move as the test
 * enqueues, and pull and ack a message from the consume panel. The steps run in order on one
 * page, as a user would use it; screenshots go to test-results/screenshots/.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage, type PublishResult } from "../e2e/clients";
import { ROOT_KEY, useServer } from "../e2e/server";
import { pollUntil, range } from "../e2e/wait";
import { BrowserSession } from "./browser";
import { UI_TIMEOUT_MS, assertBuilt, tableCell, tailRows, waitForText } from "./console-page";

interface QueueStats {
  ready: number;
  inFlight: number;
  acked: number;
  enqueued: number;
}

describe("console in Chromium", () => {
  const topic = uniqueName("console-topic");
  const queue = uniqueName("console-queue");
  const server = useServer({ beforeStart: assertBuilt });
  let browser: BrowserSession;
  let page: Page;

  const publish = (data: string) => call<PublishResult>(server, "POST", `/v1/topics/${topic}/messages`, { data }, 201);
  const enqueue = (data: string) => call<PublishResult>(server, "POST", `/v1/queues/${queue}/messages`, { data }, 201);
  const queueStats = () => call<QueueStats>(server, "GET", `/v1/queues/${queue}`, undefined, 200);

  beforeAll(async () => {
    // A topic and a queue with history, so both exist in the directory before the page opens.
    for (const data of ["before-1", "before-2", "before-3"]) await publish(data);
    for (const data of ["job-1", "job-2"]) await enqueue(data);
    browser = await BrowserSession.launch();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("serves the console at / with its security headers, and refuses a wrong token with a clear message", async () => {
    const response = await page.goto(server.url + "/");
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-type"]).toMatch(/^text\/html/);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");

    await page.getByLabel("Token").waitFor();
    // Nothing of the console shows before a token is accepted.
    await expect(page.getByRole("region", { name: "Topics", exact: true }).isVisible()).resolves.toBe(false);

    await page.getByLabel("Token").fill("not-the-root-key");
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    await waitForText(page.getByRole("alert"), /not accepted/, "the sign-in error");
    await expect(page.getByRole("region", { name: "Topics", exact: true }).isVisible()).resolves.toBe(false);
    await browser.screenshot("1-sign-in-refused");
  });

  it("signs in with the root key and lists the topic and the queue with their counts", async () => {
    await page.getByLabel("Token").fill(ROOT_KEY);
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    await waitForText(page.locator("#session-status"), "Signed in with a root key", "the session status");
    await waitForText(tableCell(page, "topics", topic, "lastSeq"), "3", `topic ${topic}'s last seq in the topics table`);
    await waitForText(tableCell(page, "queues", queue, "ready"), "2", `queue ${queue}'s ready count in the queues table`);
    // The token stays in this tab's session storage, not in long-lived storage.
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);
  });

  it("tails the topic live: messages published over HTTP appear in order after the recent ones", async () => {
    await page.getByRole("button", { name: `Tail ${topic}`, exact: true }).click();
    await waitForText(page.locator("#tail-status"), /^Live: /, "the tail status");
    // Started at lastSeq - 20 (here 0): the retained messages come first.
    await pollUntil(async () => ((await tailRows(page)).length === 3 ? true : undefined), UI_TIMEOUT_MS, () => "the three earlier messages in the tail");

    const live = ["live-1", "live-2", "live-3", "live-4", "live-5"];
    for (const data of live) await publish(data);

    let rows: Array<{ seq: number; data: string }> = [];
    await pollUntil(
      async () => {
        rows = await tailRows(page);
        return rows.length >= 8 ? true : undefined;
      },
      UI_TIMEOUT_MS,
      () => `8 messages in the tail; it shows ${JSON.stringify(rows)}`,
    );
    expect(rows.map((row) => row.seq)).toEqual(range(1, 8));
    expect(rows.map((row) => row.data)).toEqual(["before-1", "before-2", "before-3", ...live]);
    await waitForText(tableCell(page, "topics", topic, "lastSeq"), "8", "the topic's last seq after the publishes");
    await browser.screenshot("2-live-tail");
  });

  it("shows the queue's counts change when the test enqueues, with the enqueue rate charted", async () => {
    await page.getByRole("button", { name: `Show ${queue}`, exact: true }).click();
    await waitForText(page.locator("#q-ready"), "2", "the queue panel's ready count");

    for (const data of ["job-3", "job-4", "job-5"]) await enqueue(data);
    await waitForText(page.locator("#q-ready"), "5", "the queue panel's ready count after enqueueing 3");
    await waitForText(page.locator("#q-enqueued"), "5", "the queue panel's enqueued count");
    await waitForText(tableCell(page, "queues", queue, "ready"), "5", "the queues table's ready count");

    // The rate is a difference between polls: the enqueued line rises above zero somewhere.
    const baseline = await page.locator("#q-chart line.grid").first().getAttribute("y1");
    await pollUntil(
      async () => {
        const points = await page.locator('#q-chart polyline[data-series="enqueued"]').getAttribute("points", { timeout: UI_TIMEOUT_MS });
        const heights = (points ?? "").split(" ").map((pair) => Number(pair.split(",")[1]));
        return heights.some((y) => y < Number(baseline)) ? true : undefined;
      },
      UI_TIMEOUT_MS,
      () => "a non-zero point on the enqueued/s line of the chart",
    );
    await browser.screenshot("3-queue-counts");
  });

  it("pulls and acks a message in the consume panel, and the ack shows in the stats", async () => {
    await page.getByRole("button", { name: "Pull one", exact: true }).click();
    await waitForText(page.locator("#consume-result"), "Leased seq 1 (attempt 1).", "the pull result");
    await expect(page.getByRole("definition").filter({ hasText: "job-1" }).count()).resolves.toBe(1);
    await waitForText(page.locator("#q-inflight"), "1", "the in-flight count while the message is leased");
    await browser.screenshot("4-leased");

    await page.getByRole("button", { name: "Ack", exact: true }).click();
    await waitForText(page.locator("#consume-result"), "Acked seq 1.", "the ack result");
    await waitForText(page.locator("#q-acked"), "1", "the queue panel's acked count");
    await waitForText(page.locator("#q-ready"), "4", "the ready count after the ack");
    await waitForText(page.locator("#q-inflight"), "0", "the in-flight count after the ack");

    // The server agrees: the message the page acked is gone, and the next pull gets job-2.
    const stats = await queueStats();
    expect(stats).toMatchObject({ ready: 4, inFlight: 0, acked: 1, enqueued: 5 });
    const { messages } = await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}/pull`, { max: 1 }, 200);
    expect(messages.map((message) => message.data)).toEqual(["job-2"]);
    await browser.screenshot("5-acked");
  });

  it("reported no uncaught errors and no Content-Security-Policy violations", () => {
    expect(browser.problems).toEqual([]);
  });
});
