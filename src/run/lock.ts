/**
 * One writer per state directory. `<state>/lock` holds the holder's pid, host and
 * start time; it is created by hard-linking a complete file into place (the link
 * fails when the lock exists), so exactly one process gets it and it is never
 * half-written. A lock whose holder is dead (same host, no such process) is
 * taken over: the taker first wins `<state>/lock.takeover` (made the same way),
 * checks again that the lock is still the dead holder's, then replaces it — two
 * takers cannot both win.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '../execute/runStep.js';

export const LOCK_FILE = 'lock';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly command: string;
}

export type LockResult = { readonly ok: true; readonly release: () => Promise<void>; readonly tookOver?: LockHolder } | { readonly ok: false; readonly holder: LockHolder | null };


async function readHolder(file: string): Promise<LockHolder | null | 'missing'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder : null;
  } catch {
    return null; // being written, or damaged
  }
}

/**
 * Creates `file` holding `holder`, unless it exists. The content is written under
 * a temporary name and hard-linked into place, so that the lock never exists
 * empty or half-written: a crash between creating and writing it would leave a
 * lock with no holder to check, which nobody could take over.
 */
async function createExclusive(file: string, holder: LockHolder): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeNew(tmp, holder);
    await link(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // File systems without hard links: create the lock in place.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return createInPlace(file, holder);
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function writeNew(file: string, holder: LockHolder): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function createInPlace(file: string, holder: LockHolder): Promise<boolean> {
  try {
    await writeNew(file, holder);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function isStale(holder: LockHolder): boolean {
  return holder.host === hostname() && holder.pid !== process.pid && !isProcessAlive(holder.pid);
}

export async function acquireLock(stateDir: string, command: string): Promise<LockResult> {
  await mkdir(stateDir, { recursive: true });
  const file = path.join(stateDir, LOCK_FILE);
  const takeover = `${file}.takeover`;
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  const release = async (): Promise<void> => {
    const holder = await readHolder(file);
    if (holder !== 'missing' && holder !== null && holder.pid === me.pid && holder.host === me.host) await rm(file, { force: true });
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await createExclusive(file, me)) return { ok: true, release };
    const holder = await readHolder(file);
    if (holder === 'missing') continue;
    if (holder === null) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (!isStale(holder)) return { ok: false, holder };
    // The holder is dead: take the lock over, one taker at a time.
    const token = await readHolder(takeover);
    if (token !== 'missing' && token !== null && isStale(token)) await rm(takeover, { force: true });
    if (!(await createExclusive(takeover, me))) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      const again = await readHolder(file);
      if (again !== 'missing' && again !== null && again.pid === holder.pid && again.startedAt === holder.startedAt) await rm(file, { force: true });
      if (await createExclusive(file, me)) return { ok: true, release, tookOver: holder };
    } finally {
      await rm(takeover, { force: true });
    }
  }
  const holder = await readHolder(file);
  return { ok: false, holder: holder === 'missing' ? null : holder };
}
