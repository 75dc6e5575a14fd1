/**
 * Memory of the server under test, sampled from /proc (Linux): the resident set size of every
 * process in its process group (serve.mjs's Node and the workerd it runs), summed, and
 * workerd's own. For leak checks: compare the peaks of the first and last thirds of a run.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface MemorySample {
  at: number;
  /** All processes of the group, in bytes. */
  groupRss: number;
  /** The workerd processes of the group, in bytes. */
  workerdRss: number;
}

interface ProcessInfo {
  pid: number;
  command: string;
  group: number;
}

/** pid, command name and process group from /proc/<pid>/stat; null if it is gone. */
function processInfo(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid pgrp ...": comm may hold spaces or parentheses, so cut at the last ")".
    const close = stat.lastIndexOf(")");
    const command = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    return { pid, command, group: Number(fields[2]) };
  } catch {
    return null;
  }
}

function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** One sample of the process group led by `groupId`. */
export function sampleGroup(groupId: number): MemorySample {
  let groupRss = 0;
  let workerdRss = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (!info || info.group !== groupId) continue;
    const rss = rssBytes(info.pid);
    groupRss += rss;
    if (info.command.startsWith("workerd")) workerdRss += rss;
  }
  return { at: Date.now(), groupRss, workerdRss };
}

/** The samples with the highest value in each third of the run, and overall. */
export interface PeakReport {
  first: MemorySample;
  middle: MemorySample;
  last: MemorySample;
  overall: MemorySample;
}

const MIB = 1024 * 1024;
export const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;

/** Samples the group every `intervalMs` until stopped. */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly groupId: number,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.samples.push(sampleGroup(this.groupId));
    this.timer = setInterval(() => this.samples.push(sampleGroup(this.groupId)), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The peak (by `key`) of each third of the run, and overall. */
  peaks(key: "groupRss" | "workerdRss"): PeakReport {
    if (this.samples.length < 3) throw new Error(`only ${this.samples.length} memory samples`);
    const third = Math.floor(this.samples.length / 3);
    const peak = (samples: MemorySample[]) => samples.reduce((best, sample) => (sample[key] > best[key] ? sample : best));
    return {
      first: peak(this.samples.slice(0, third)),
      middle: peak(this.samples.slice(third, this.samples.length - third)),
      last: peak(this.samples.slice(this.samples.length - third)),
      overall: peak(this.samples),
    };
  }
}
