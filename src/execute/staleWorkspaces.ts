/**
 * Workspaces left by a run that died (kill -9, power loss): the builds in them
 * may still be running, in process groups of their own that outlived their
 * parent. Before a run starts builds (it holds the lock, so no other run owns a
 * workspace), such processes are killed and the workspaces removed; workspaces
 * kept on purpose for inspection (`--keep-failed-workspaces`) carry a
 * `.kept` marker and stay.
 */
import { readdir, readlink, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export const KEPT_MARKER = '.kept';

export interface StaleCleanup {
  /** Workspaces removed. */
  readonly removed: readonly string[];
  /** Pids killed because they were still running inside one. */
  readonly killed: readonly number[];
}

/** Kills what still runs inside the stale workspaces under `workRoot`, then removes them. */
export async function cleanStaleWorkspaces(workRoot: string): Promise<StaleCleanup> {
  let entries: string[];
  try {
    entries = await readdir(workRoot);
  } catch {
    return { removed: [], killed: [] };
  }
  const stale: string[] = [];
  for (const entry of entries) {
    const dir = path.join(workRoot, entry);
    try {
      await stat(path.join(dir, KEPT_MARKER));
    } catch {
      stale.push(dir);
    }
  }
  if (stale.length === 0) return { removed: [], killed: [] };
  const killed = await killProcessesInside(stale);
  for (const dir of stale) await rm(dir, { recursive: true, force: true });
  return { removed: stale, killed };
}

/** Linux: every process whose working directory is inside one of `dirs` gets SIGKILL. */
async function killProcessesInside(dirs: readonly string[]): Promise<number[]> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return []; // no /proc: nothing we can find safely
  }
  const killed: number[] = [];
  for (const pid of pids) {
    let cwd: string;
    try {
      cwd = await readlink(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (!dirs.some((d) => cwd === d || cwd.startsWith(`${d}/`))) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      killed.push(Number(pid));
    } catch {
      // gone already
    }
  }
  return killed;
}
