/**
 * Making the directory of a SQLite store file. Node's `fs.mkdirSync(dir, { recursive: true })` never
 * returns for some paths that cannot exist (`/proc/x`: mkdir says ENOENT although the parent is
 * there, and Node retries the parent forever), which made the worker and `plan-runner migrate` hang
 * silently on PLAN_STORE_URL=/proc/x/y.db. This walks up to the nearest existing directory and makes
 * each missing one below it exactly once, so any refusal is an error at once.
 *
 * No database driver is imported here: the client uses it before it loads one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noStoreMessage, reasonOf, StoreError } from './errors';

/**
 * Makes sure the directory that holds `file` exists, creating it and its missing parents. Throws a
 * `StoreError` with `noStoreMessage` (naming `location` and why) when it cannot.
 */
export function ensureStoreDirectory(file: string, location: string = file): void {
  const missing: string[] = [];
  try {
    for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
      const stat = statOrUndefined(dir);
      if (stat) {
        if (!stat.isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
        break;
      }
      missing.unshift(dir);
      if (path.dirname(dir) === dir) break; // the root itself is missing: mkdir below says why
    }
    for (const dir of missing) {
      try {
        fs.mkdirSync(dir); // not recursive: one try per level (see above)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another process made it
      }
    }
  } catch (error) {
    throw new StoreError(noStoreMessage(location, `cannot create its directory: ${reasonOf(error)}`), location, { cause: error });
  }
}

function statOrUndefined(dir: string): fs.Stats | undefined {
  try {
    return fs.statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
