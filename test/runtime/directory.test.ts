/** The directory: topics and queues appear once written to, filtered by what a token may see. */
import { describe, expect, it } from "vitest";
import { mint } from "./auth-helpers";
import { api, json, uniqueName } from "./helpers";

interface Listing {
  topics?: { name: string; createdAt: number }[];
  queues?: { name: string; createdAt: number }[];
  next: string | null;
}

async function listNames(kind: "topics" | "queues", auth?: string): Promise<string[]> {
  const response = await api(`/v1/${kind}?limit=1000`, auth === undefined ? {} : { auth });
  expect(response.status).toBe(200);
  return ((await json<Listing>(response))[kind] ?? []).map((entry) => entry.name);
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("directory", () => {
  it("lists a topic after its first publish, and a queue after its first enqueue or settings", async () => {
    const topic = uniqueName("dir.t");
    const queue = uniqueName("dir.q");
    const configured = uniqueName("dir.c");
    expect(await listNames("topics")).not.toContain(topic);
    await api(`/v1/topics/${topic}/messages`, { body: { data: 1 } });
    await api(`/v1/queues/${queue}/messages`, { body: { data: 1 } });
    await api(`/v1/queues/${configured}`, { method: "PUT", body: { maxAttempts: 3 } });
    await eventually(async () => (await listNames("topics")).includes(topic), `${topic} listed`);
    await eventually(async () => {
      const queues = await listNames("queues");
      return queues.includes(queue) && queues.includes(configured);
    }, "queues listed");
  });

  it("does not list names that were only read", async () => {
    const ghost = uniqueName("dir.ghost");
    await api(`/v1/topics/${ghost}`);
    await api(`/v1/topics/${ghost}/messages?after=0`);
    const known = uniqueName("dir.known");
    await api(`/v1/topics/${known}/messages`, { body: { data: 1 } });
    await eventually(async () => (await listNames("topics")).includes(known), `${known} listed`);
    expect(await listNames("topics")).not.toContain(ghost);
  });

  it("shows a token only the names its scopes cover", async () => {
    const mine = uniqueName("scoped.mine");
    const other = uniqueName("other.name");
    for (const name of [mine, other]) await api(`/v1/topics/${name}/messages`, { body: { data: 1 } });
    await eventually(async () => {
      const names = await listNames("topics");
      return names.includes(mine) && names.includes(other);
    }, "both listed");
    const token = await mint({ subscribe: ["scoped.*"] });
    const visible = await listNames("topics", token);
    expect(visible).toContain(mine);
    expect(visible).not.toContain(other);
  });

  it("pages by name", async () => {
    const prefix = uniqueName("page");
    for (const suffix of ["a", "b", "c"]) await api(`/v1/queues/${prefix}.${suffix}/messages`, { body: { data: 1 } });
    await eventually(async () => (await listNames("queues")).includes(`${prefix}.c`), "three queues listed");
    const first = await json<Listing>(await api(`/v1/queues?after=${prefix}&limit=2`));
    expect(first.queues!.map((entry) => entry.name)).toEqual([`${prefix}.a`, `${prefix}.b`]);
    expect(first.next).toBe(`${prefix}.b`);
    const second = await json<Listing>(await api(`/v1/queues?after=${first.next}&limit=2`));
    expect(second.queues![0]!.name).toBe(`${prefix}.c`);
  });
});
