/**
 * The record of which prerequisite root is installed on which host for which
 * branch: `<state>/prerequisites/installed.json`. Written by reconcile after each
 * installation (and removal); read by `plan` to show which hosts still need a
 * branch's prerequisites. It records what reconcile did, not what a host holds
 * now: reconcile checks the host itself before using a root.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isRecord, isStringList } from '../model/json.js';

export const INSTALLED_ROOTS_FILE = 'prerequisites/installed.json';
export const INSTALLED_ROOTS_FORMAT = 1;

/** One branch's root on one host. */
export interface InstalledRoot {
  /** The root key (see rootKey). */
  readonly key: string;
  /** Absolute path on the host (`<workdir>/roots/<branch>/<key>`). */
  readonly root: string;
  /** The tarballs it was made of, in extraction order, with their paths on the host. */
  readonly tarballs: readonly { readonly name: string; readonly sha256: string; readonly file: string }[];
  readonly installedAt: string;
  readonly runId: string;
}

export interface InstalledRootsFile {
  readonly formatVersion: number;
  /** host name → branch name → root. */
  readonly hosts: Readonly<Record<string, Readonly<Record<string, InstalledRoot>>>>;
  /** Old roots and tarballs whose removal failed (host down): removed by a later run. */
  readonly pendingRemoval: readonly { readonly host: string; readonly paths: readonly string[] }[];
}

export const EMPTY_INSTALLED_ROOTS: InstalledRootsFile = { formatVersion: INSTALLED_ROOTS_FORMAT, hosts: {}, pendingRemoval: [] };

/**
 * Reads the record; a missing or unreadable one counts as empty (hosts are checked anyway), and
 * so does a damaged entry (one with a field missing or of another type made every later
 * installation on its host fail with a TypeError).
 */
export function readInstalledRoots(stateDir: string): InstalledRootsFile {
  let data: Partial<Record<keyof InstalledRootsFile, unknown>> | null;
  try {
    data = JSON.parse(readFileSync(path.join(stateDir, INSTALLED_ROOTS_FILE), 'utf8')) as Partial<Record<keyof InstalledRootsFile, unknown>> | null;
  } catch {
    return EMPTY_INSTALLED_ROOTS; // nothing recorded yet
  }
  if (data?.formatVersion !== INSTALLED_ROOTS_FORMAT || !isRecord(data.hosts)) return EMPTY_INSTALLED_ROOTS;
  const hosts: Record<string, Record<string, InstalledRoot>> = {};
  for (const [host, branches] of Object.entries(data.hosts)) {
    if (!isRecord(branches)) continue;
    const kept = Object.fromEntries(Object.entries(branches).filter((entry): entry is [string, InstalledRoot] => isInstalledRoot(entry[1])));
    if (Object.keys(kept).length > 0) hosts[host] = kept;
  }
  const pendingRemoval = (Array.isArray(data.pendingRemoval) ? (data.pendingRemoval as unknown[]) : []).filter(
    (p): p is InstalledRootsFile['pendingRemoval'][number] => isRecord(p) && typeof p.host === 'string' && isStringList(p.paths),
  );
  return { formatVersion: INSTALLED_ROOTS_FORMAT, hosts, pendingRemoval };
}

function isInstalledRoot(value: unknown): value is InstalledRoot {
  if (!isRecord(value)) return false;
  const { key, root, tarballs, installedAt, runId } = value;
  return (
    typeof key === 'string' &&
    typeof root === 'string' &&
    typeof installedAt === 'string' &&
    typeof runId === 'string' &&
    Array.isArray(tarballs) &&
    tarballs.every((t) => isRecord(t) && typeof t.name === 'string' && typeof t.sha256 === 'string' && typeof t.file === 'string')
  );
}
