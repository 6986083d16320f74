/**
 * Which hosts still need a branch's prerequisites: the desired root (its key from
 * the ordered tarball digests) against the record of what reconcile installed
 * where. Pure.
 */
import { sha256Hex } from '../model/canonical.js';
import type { PrerequisitePlan } from './types.js';

/**
 * The key of a root made of these tarballs in this order: with one tarball its own
 * sha256; with several, the sha256 of their digests, one per line, in order (a
 * reordering makes another root, since it may change which file wins).
 */
export function rootKey(digests: readonly string[]): string {
  return digests.length === 1 ? digests[0]! : sha256Hex(digests.map((d) => `${d}\n`).join(''));
}

export interface PrerequisitePlanInput {
  readonly branch: string;
  /** In extraction order. */
  readonly prerequisites: readonly { readonly name: string; readonly sha256: string }[];
  /** The hosts the branch may build on. */
  readonly hosts: readonly string[];
  /** host → branch → the key of the root installed there (from the state's record). */
  readonly installed: Readonly<Record<string, Readonly<Record<string, { readonly key: string }>>>>;
}

/** Undefined when the branch has no prerequisites. */
export function planPrerequisites(input: PrerequisitePlanInput): PrerequisitePlan | undefined {
  if (input.prerequisites.length === 0) return undefined;
  const root = rootKey(input.prerequisites.map((p) => p.sha256));
  return {
    root,
    tarballs: input.prerequisites.map((p) => ({ name: p.name, sha256: p.sha256 })),
    hosts: input.hosts.map((host) => {
      const current = input.installed[host]?.[input.branch]?.key;
      if (current === root) return { host, status: 'installed' as const };
      if (current === undefined) return { host, status: 'install' as const };
      return { host, status: 'replace' as const, installedRoot: current };
    }),
  };
}
