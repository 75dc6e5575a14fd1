/**
 * Progress of a long run on stderr: on a terminal one line rewritten in place, elsewhere a
 * line every few seconds. Nothing for runs shorter than a second.
 */
const QUIET_MS = 1_000;
const TTY_EVERY_MS = 200;
const LOG_EVERY_MS = 5_000;

export class Progress {
  private readonly started = Date.now();
  private lastShown = 0;
  private shownOnTty = false;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly verb: string) {}

  update(count: number): void {
    const now = Date.now();
    const elapsed = now - this.started;
    if (elapsed < QUIET_MS || now - this.lastShown < (this.tty ? TTY_EVERY_MS : LOG_EVERY_MS)) return;
    this.lastShown = now;
    const rate = Math.round((count * 1000) / elapsed);
    const text = `${this.verb} ${count} messages (${rate}/s)`;
    if (this.tty) {
      process.stderr.write(`\r${text}\u001b[K`);
      this.shownOnTty = true;
    } else {
      process.stderr.write(`${text}\n`);
    }
  }

  /** Clear the in-place line. */
  done(): void {
    if (this.shownOnTty) process.stderr.write("\r\u001b[K");
  }
}
