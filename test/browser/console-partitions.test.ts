/**
 * The console on a topic with relays and partitions (issue 11) in a real browser: tailing it
 * shows its relays and partitions, each partition's last seq and retained count, and every
 * message with its partition (the tail starts from a cursor); the settings form changes the
 * relays and grows the partitions, and a shrink is refused with the server's own words.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName, type PublishResult } from "../e2e/clients";
import { ROOT_KEY, useServer } from "../e2e/server";
import { pollUntil } from "../e2e/wait";
import { BrowserSession } from "./browser";
import { UI_TIMEOUT_MS, assertBuilt, signIn, waitForText } from "./console-page";

type Routed = PublishResult & { partition: number };

/** The tail's rows with their partition, as the page marks them. */
function partitionedRows(page: Page): Promise<Array<{ partition: number; seq: number; data: string; label: string }>> {
  return page.locator("#tail-log li").evaluateAll((items) =>
    items.map((item) => ({
      partition: Number((item as HTMLElement).dataset.partition),
      seq: Number((item as HTMLElement).dataset.seq),
      data: item.querySelector(".data")?.textContent ?? "",
      label: item.querySelector(".seq")?.textContent ?? "",
    })),
  );
}

describe("console on a partitioned topic with relays, in Chromium", () => {
  const topic = uniqueName("console-partitions");
  const server = useServer({ beforeStart: assertBuilt });
  let browser: BrowserSession;
  let page: Page;
  const published: Array<Routed & { data: string }> = [];

  const publish = async (data: string, key: string) => {
    const answer = await call<Routed>(server, "POST", `/v1/topics/${topic}/messages`, { data, key }, 201);
    published.push({ ...answer, data });
    return answer;
  };

  beforeAll(async () => {
    await call(server, "PUT", `/v1/topics/${topic}`, { partitions: 3, relays: 2 }, 200);
    for (let n = 1; n <= 9; n++) await publish(`before-${n}`, `key-${n}`);
    browser = await BrowserSession.launch();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows relays, partitions, each partition's last seq, and every message with its partition", async () => {
    await signIn(page, server.url, ROOT_KEY);
    await page.getByLabel("Topic name").fill(topic);
    await page.getByRole("button", { name: "Tail", exact: true }).click();
    await waitForText(page.locator("#tail-status"), /^Live: .*after cursor \d+,\d+,\d+/, "the tail status with its start cursor");
    await waitForText(page.locator("#t-relays"), "2", "the relays count");
    await waitForText(page.locator("#t-partitions"), "3", "the partitions count");

    for (const partition of [0, 1, 2]) {
      const expected = published.filter((answer) => answer.partition === partition).length;
      const row = page.locator(`#t-partitions-body tr[data-partition="${partition}"]`);
      await waitForText(row.locator('td[data-field="lastSeq"]'), String(expected), `partition ${partition}'s last seq`);
      await waitForText(row.locator('td[data-field="retainedMessages"]'), String(expected), `partition ${partition}'s retained count`);
    }
    await waitForText(page.locator("#t-last"), "9", "the messages published over all partitions");

    // A live message: its row says its partition.
    const live = await publish("live-1", "key-live");
    let rows: Awaited<ReturnType<typeof partitionedRows>> = [];
    await pollUntil(
      async () => {
        rows = await partitionedRows(page);
        return rows.length >= 10 ? true : undefined;
      },
      UI_TIMEOUT_MS,
      () => `10 messages in the tail; it shows ${JSON.stringify(rows)}`,
    );
    const shown = rows.map(({ partition, seq, data }) => ({ partition, seq, data })).sort((a, b) => a.data.localeCompare(b.data));
    const expected = published.map(({ partition, seq, data }) => ({ partition, seq, data })).sort((a, b) => a.data.localeCompare(b.data));
    expect(shown).toEqual(expected);
    expect(rows.find((row) => row.data === "live-1")?.label).toBe(`p${live.partition} #${live.seq}`);
    await browser.screenshot("partitions-1-topic");
  });

  it("changes relays and grows partitions from the form; a shrink is refused with the server's words", async () => {
    await page.getByRole("spinbutton", { name: /^Relays/ }).fill("4");
    await page.getByRole("spinbutton", { name: /^Partitions/ }).fill("5");
    await page.getByRole("button", { name: "Save settings", exact: true }).click();
    await waitForText(page.locator("#topic-settings-result"), "Saved: 4 relay(s), 5 partition(s).", "the save result");
    await waitForText(page.locator("#t-relays"), "4", "the relays count after the save");
    await waitForText(page.locator("#t-partitions"), "5", "the partitions count after the save");
    expect(await call(server, "GET", `/v1/topics/${topic}`, undefined, 200)).toMatchObject({ relays: 4, partitions: 5 });

    await pollUntil(async () => ((await page.getByRole("spinbutton", { name: /^Partitions/ }).inputValue()) === "5" ? true : undefined), UI_TIMEOUT_MS, () => "the form refilled");
    await page.getByRole("spinbutton", { name: /^Partitions/ }).fill("2");
    await page.getByRole("button", { name: "Save settings", exact: true }).click();
    await waitForText(page.locator("#topic-settings-result"), /^Not saved: .*\(partitions_shrink\)$/, "the refused shrink");
    await waitForText(page.locator("#t-partitions"), "5", "the partitions count after the refused shrink");
    await browser.screenshot("partitions-2-settings");
    expect(browser.problems).toEqual([]);
  });
});
