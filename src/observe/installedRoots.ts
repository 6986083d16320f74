/**
 * The record of which prerequisite root is installed on which host for which
 * branch: `<state>/prerequisites/installed.json`. Written by reconcile after each
 * installation (and removal); read by `plan` to show which hosts still need a
 * branch's prerequisites. It records what reconcile did, not what a host holds
 * now: reconcile checks the host itself before using a root.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

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

/** Reads the record; a missing or unreadable one counts as empty (hosts are checked anyway). */
export function readInstalledRoots(stateDir: string): InstalledRootsFile {
  try {
    const data = JSON.parse(readFileSync(path.join(stateDir, INSTALLED_ROOTS_FILE), 'utf8')) as InstalledRootsFile;
    if (data.formatVersion === INSTALLED_ROOTS_FORMAT && typeof data.hosts === 'object' && data.hosts !== null) {
      return { formatVersion: data.formatVersion, hosts: data.hosts, pendingRemoval: Array.isArray(data.pendingRemoval) ? data.pendingRemoval : [] };
    }
  } catch {
    // Fall through: nothing recorded yet.
  }
  return EMPTY_INSTALLED_ROOTS;
}
