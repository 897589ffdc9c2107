/**
 * One writer at a time per SQLite file inside this process.
 *
 * Across processes (a worker and the CLI), SQLite's own lock does the job: writes open with
 * `BEGIN IMMEDIATE` and wait up to `busy_timeout` for the other process. Inside ONE process that wait
 * would deadlock: libsql waits synchronously, blocking the event loop, so the store instance that
 * holds the write transaction could never finish it. Store instances in one process that open the
 * same file therefore queue on this lock before they write.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after every earlier caller's `fn` has settled. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

const sqliteFileLocks = new Map<string, Mutex>();

/** The process-wide write lock of one SQLite file (by absolute path). */
export function sqliteWriteLock(file: string): Mutex {
  let lock = sqliteFileLocks.get(file);
  if (!lock) {
    lock = new Mutex();
    sqliteFileLocks.set(file, lock);
  }
  return lock;
}
