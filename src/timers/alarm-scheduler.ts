/**
 * One alarm per Durable Object drives everything that is due later. Each object computes
 * its earliest due time from its own indexed due-time columns and hands it here; this keeps
 * the single platform alarm set to that minimum without a storage write when nothing moved.
 *
 * Platform facts (TOOLCHAIN.md, 2026-11-27): one alarm per object; alarms run at least once
 * and are retried by the platform only a few times, so `runAlarm` catches errors itself and
 * always re-arms, with a short retry delay when the work threw.
 */
export class AlarmScheduler {
  /** What we believe the platform alarm is set to; undefined until read from storage. */
  private armedAt: number | null | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly nextDueAt: () => number | null,
  ) {}

  /**
   * Re-arm to the earliest due time. Call after every change that may move it earlier. It
   * only ever moves the alarm earlier: an alarm that fires with nothing due is harmless (the
   * run re-arms exactly), while rewriting the alarm on every publish would cost a write each.
   */
  async rearm(): Promise<void> {
    await this.ensureBy(this.nextDueAt());
  }

  /**
   * Make sure the alarm fires no later than `due`: the cheap form of `rearm` for a change that
   * knows which due times it added (the alarm is already at or before every older one).
   */
  async ensureBy(due: number | null): Promise<void> {
    if (due === null) return;
    if (this.armedAt === undefined) this.armedAt = await this.storage.getAlarm();
    if (this.armedAt === null || due < this.armedAt) {
      await this.storage.setAlarm(due);
      this.armedAt = due;
    }
  }

  /** Set the alarm to exactly the earliest due time, or clear it when nothing is due. */
  private async rearmExactly(): Promise<void> {
    const due = this.nextDueAt();
    if (due === null) {
      await this.storage.deleteAlarm();
      this.armedAt = null;
    } else {
      await this.storage.setAlarm(due);
      this.armedAt = due;
    }
  }

  /**
   * Run the alarm's work and re-arm whatever happens. Work must be idempotent and bounded:
   * return `true` when it stopped early with more to do, so the alarm fires again at once.
   */
  async runAlarm(work: () => Promise<boolean> | boolean, retryDelayMs = 1000): Promise<void> {
    // The platform has cleared the alarm that is running now.
    this.armedAt = null;
    let moreWork = false;
    let failed = false;
    try {
      moreWork = await work();
    } catch (error) {
      failed = true;
      console.error("alarm work failed; re-arming", error);
    }
    const due = this.nextDueAt();
    const now = Date.now();
    if (failed) {
      const retryAt = now + retryDelayMs;
      await this.storage.setAlarm(due === null ? retryAt : Math.max(due, retryAt));
      this.armedAt = due === null ? retryAt : Math.max(due, retryAt);
    } else if (moreWork) {
      await this.storage.setAlarm(now);
      this.armedAt = now;
    } else {
      await this.rearmExactly();
    }
  }
}
