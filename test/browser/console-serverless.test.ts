/**
 * The console's serverless controls in Chromium against the bundled worker: a long-polling
 * "Pull one" answered by an enqueue made while it waits, push settings (the generated secret
 * shown once, then the push state from stats), and deleting a queue and a topic after a
 * confirmation.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName, type PublishResult } from "../e2e/clients";
import { ROOT_KEY, useServer } from "../e2e/server";
import { pollUntil } from "../e2e/wait";
import { BrowserSession } from "./browser";
import { UI_TIMEOUT_MS, assertBuilt, signIn, waitForText } from "./console-page";

interface QueueStats {
  pullsWaiting: number;
  push: { url: string } | null;
  enqueued: number;
}

describe("console serverless controls in Chromium", () => {
  const topic = uniqueName("console-del-topic");
  const queue = uniqueName("console-push");
  const server = useServer({ beforeStart: assertBuilt });
  let browser: BrowserSession;
  let page: Page;

  const queueStats = () => call<QueueStats>(server, "GET", `/v1/queues/${queue}`, undefined, 200);

  beforeAll(async () => {
    await call<PublishResult>(server, "POST", `/v1/topics/${topic}/messages`, { data: "t" }, 201);
    await call<PublishResult>(server, "POST", `/v1/queues/${queue}/messages`, { data: "first" }, 201);
    browser = await BrowserSession.launch();
    page = browser.page;
    page.on("dialog", (dialog) => void dialog.accept());
    await signIn(page, server.url, ROOT_KEY);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("long-polls: Pull one with a wait is answered by a message enqueued while it waits", async () => {
    await page.getByLabel("Queue name").fill(queue);
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await waitForText(page.locator("#q-ready"), "1", "the queue's ready count");
    await page.getByRole("button", { name: "Pull one", exact: true }).click();
    await waitForText(page.locator("#consume-result"), "Leased seq 1 (attempt 1).", "the first pull");
    await page.getByRole("button", { name: "Ack", exact: true }).click();
    await waitForText(page.locator("#consume-result"), "Acked seq 1.", "the ack");

    await page.getByLabel("Wait (s)").fill("15");
    await page.getByRole("button", { name: "Pull one", exact: true }).click();
    await waitForText(page.locator("#consume-result"), /Waiting up to 15 s/, "the waiting note");
    await pollUntil(async () => ((await queueStats()).pullsWaiting === 1 ? true : undefined), UI_TIMEOUT_MS, () => "the page's pull to wait in the queue");
    await call(server, "POST", `/v1/queues/${queue}/messages`, { data: "second" }, 201);
    await waitForText(page.locator("#consume-result"), "Leased seq 2 (attempt 1).", "the long poll's answer");
    await page.getByRole("button", { name: "Ack", exact: true }).click();
    await waitForText(page.locator("#consume-result"), "Acked seq 2.", "the second ack");
  });

  it("sets push to a URL, shows the generated secret once and the push state, and stops", async () => {
    await page.getByLabel("Endpoint URL").fill("https://hooks.example/in");
    await page.getByRole("button", { name: "Push here", exact: true }).click();
    const shown = await waitForText(page.locator("#push-result"), /Secret \(shown only now/, "the push answer with the secret");
    expect(shown).toMatch(/whsec_[A-Za-z0-9+/=]+/);
    expect((await queueStats()).push).toMatchObject({ url: "https://hooks.example/in" });
    await waitForText(page.locator("#push-status"), /Pushes to https:\/\/hooks\.example\/in/, "the push state");
    await browser.screenshot("serverless-1-push");

    await page.getByRole("button", { name: "Stop pushing", exact: true }).click();
    await waitForText(page.locator("#push-result"), /Push stopped/, "the stop answer");
    expect((await queueStats()).push).toBeNull();
    await waitForText(page.locator("#push-status"), /Pull queue/, "the pull state");
  });

  it("deletes the queue and a topic after confirming", async () => {
    await page.getByRole("button", { name: "Delete queue", exact: true }).click();
    await waitForText(page.locator("#queue-delete-result"), `Deleted queue ${queue}.`, "the queue delete");
    expect(await queueStats()).toMatchObject({ enqueued: 0 });

    await page.getByLabel("Topic name").fill(topic);
    await page.getByRole("button", { name: "Delete topic", exact: true }).click();
    await waitForText(page.locator("#topic-delete-result"), `Deleted topic ${topic}.`, "the topic delete");
    expect(await call<{ lastSeq: number }>(server, "GET", `/v1/topics/${topic}`, undefined, 200)).toMatchObject({ lastSeq: 0 });
    await browser.screenshot("serverless-2-deleted");
  });

  it("reported no uncaught errors and no Content-Security-Policy violations", () => {
    expect(browser.problems).toEqual([]);
  });
});
