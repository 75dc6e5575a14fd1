/**
 * The console's dead-letter path in a real browser: a message nacked from the consume panel on
 * its last attempt goes to the dead-letter queue, the queue panel counts it there, and the
 * Redrive button moves it back to the queue, where it is ready again with the same id.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage, type PublishResult } from "../e2e/clients";
import { ROOT_KEY, useServer } from "../e2e/server";
import { BrowserSession } from "./browser";
import { assertBuilt, signIn, waitForText } from "./console-page";

describe("console redrive in Chromium", () => {
  const queue = uniqueName("console-redrive");
  const server = useServer({ beforeStart: assertBuilt });
  let browser: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    // One delivery only: the first nack dead-letters the message.
    await call(server, "PUT", `/v1/queues/${queue}`, { maxAttempts: 1 }, 200);
    await call<PublishResult>(server, "POST", `/v1/queues/${queue}/messages`, { data: { order: 7 }, id: "order-7" }, 201);
    browser = await BrowserSession.launch();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("nacks a message on its last attempt into the dead-letter queue, then redrives it back", async () => {
    await signIn(page, server.url, ROOT_KEY);
    await page.getByLabel("Queue name").fill(queue);
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await waitForText(page.locator("#q-ready"), "1", "the ready count");
    await waitForText(page.locator("#q-dead"), "0", "the dead-letter count before the nack");

    await page.getByRole("button", { name: "Pull one", exact: true }).click();
    await waitForText(page.locator("#consume-result"), "Leased seq 1 (attempt 1).", "the pull result");
    await page.getByRole("button", { name: "Nack", exact: true }).click();
    await waitForText(page.locator("#consume-result"), /^Nacked seq 1: that was its last attempt/, "the nack result");

    await waitForText(page.locator("#q-dead"), "1", "the dead-letter count after the nack");
    await waitForText(page.locator("#q-ready"), "0", "the ready count after the nack");
    const redrive = page.getByRole("button", { name: "Redrive", exact: true });
    await expect(redrive.isEnabled()).resolves.toBe(true);
    await browser.screenshot("redrive-1-dead-lettered");

    await redrive.click();
    await waitForText(page.locator("#redrive-result"), "Moved 1 message(s) back.", "the redrive result");
    await waitForText(page.locator("#q-ready"), "1", "the ready count after the redrive");
    await waitForText(page.locator("#q-dead"), "0", "the dead-letter count after the redrive");
    await browser.screenshot("redrive-2-redriven");

    // The same message is back in the queue, with its id.
    const { messages } = await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}/pull`, { max: 1 }, 200);
    expect(messages.map((message) => [message.id, message.data])).toEqual([["order-7", { order: 7 }]]);
    expect(browser.problems).toEqual([]);
  });
});
