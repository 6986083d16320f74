/**
 * The version orders buildfleet knows, by name: `buildfleet vercmp --scheme`
 * and the planner (which version is newer) look comparators up here. Pure.
 */
import { compareAlpmVersions } from './alpm.js';
import { compareFreebsdVersions } from './freebsd.js';

/** Negative when `a` is older than `b`, 0 when equal, positive when newer. */
export type VersionComparator = (a: string, b: string) => number;

export const VERSION_SCHEMES = {
  /** pacman's `vercmp` (`[epoch:]pkgver[-pkgrel]`, rpmvercmp segments). */
  alpm: compareAlpmVersions,
  /** FreeBSD's `pkg version -t` (`version[_revision][,epoch]`, pl/alpha/beta/pre/rc, `*`, `+`). */
  freebsd: compareFreebsdVersions,
} as const satisfies Record<string, VersionComparator>;

export type VersionScheme = keyof typeof VERSION_SCHEMES;

export const DEFAULT_VERSION_SCHEME: VersionScheme = 'alpm';

export function isVersionScheme(name: string): name is VersionScheme {
  return Object.prototype.hasOwnProperty.call(VERSION_SCHEMES, name);
}
