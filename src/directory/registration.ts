/**
 * An object's one-time entry in the directory. `ensure()` is called on every write but costs a
 * boolean check once registered; the first call records the name in the directory in the
 * background (never holding up the write), and remembers success in the object's own meta.
 */
import type { Env } from "../env";
import { readMeta, writeMeta } from "../storage/migrations";
import { DIRECTORY_NAME, type EntryKind } from "./directory-object";

export class Registration {
  private registered: boolean;
  private inFlight = false;
  /** Set when the object is deleted: a registration still in flight must not write its state. */
  private cancelled = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly kind: EntryKind,
    private readonly name: () => string,
  ) {
    this.registered = readMeta<boolean>(ctx.storage.sql, "registered") === true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  ensure(): void {
    if (this.registered || this.inFlight) return;
    this.inFlight = true;
    const done = this.env.DIRECTORY.getByName(DIRECTORY_NAME)
      .register(this.kind, this.name())
      .then(
        () => {
          if (this.cancelled) return;
          writeMeta(this.ctx.storage.sql, "registered", true);
          this.registered = true;
        },
        (error: unknown) => console.warn(`directory registration of ${this.kind} ${this.name()} failed; will retry on the next write`, error),
      )
      .finally(() => {
        this.inFlight = false;
      });
    this.ctx.waitUntil(done);
  }
}
