/**
 * Host health across runs, in `<state>/hosts.json`: how many consecutive runs each
 * host failed in (unreachable, dropped, refused), and until when it is quarantined
 * (`quarantine:` of hosts.yaml). Written by `reconcile` at the end of a run, read by
 * `plan`, `reconcile` and `hosts`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config, QuarantineConfig } from '../config/types.js';
import { writeFileAtomic } from '../execute/fsUtil.js';
import { isRecord } from '../model/json.js';

export const HOST_STATE_FILE = 'hosts.json';
export const HOST_STATE_FORMAT_VERSION = 1;

export interface HostHealth {
  /** Runs in a row in which the host failed (0 after a run in which it worked). */
  readonly consecutiveFailedRuns: number;
  /** The last failure: when (ISO 8601) and why. */
  readonly lastFailure?: { readonly at: string; readonly runId: string; readonly message: string };
  /** ISO 8601 end of the quarantine, when one was imposed. */
  readonly quarantinedUntil?: string;
}

export interface HostStateFile {
  readonly formatVersion: typeof HOST_STATE_FORMAT_VERSION;
  readonly hosts: Readonly<Record<string, HostHealth>>;
}

/** The host state; an absent or unreadable file is an empty one (it is advisory). */
export function readHostState(stateDir: string): HostStateFile {
  const hosts: Record<string, HostHealth> = {};
  try {
    const data = JSON.parse(readFileSync(path.join(stateDir, HOST_STATE_FILE), 'utf8')) as Partial<HostStateFile> | null;
    if (data?.formatVersion === HOST_STATE_FORMAT_VERSION && isRecord(data.hosts)) {
      // A damaged record is no history for its host (a `quarantinedUntil` that is no date kept the host out for good).
      for (const [name, health] of Object.entries(data.hosts)) if (isHostHealth(health)) hosts[name] = health;
    }
  } catch {
    // absent or damaged: no history
  }
  return { formatVersion: HOST_STATE_FORMAT_VERSION, hosts };
}

function isHostHealth(value: unknown): value is HostHealth {
  if (!isRecord(value)) return false;
  const { consecutiveFailedRuns, lastFailure, quarantinedUntil } = value;
  if (typeof consecutiveFailedRuns !== 'number' || !Number.isSafeInteger(consecutiveFailedRuns) || consecutiveFailedRuns < 0) return false;
  if (quarantinedUntil !== undefined && (typeof quarantinedUntil !== 'string' || !Number.isFinite(Date.parse(quarantinedUntil)))) return false;
  if (lastFailure === undefined) return true;
  if (!isRecord(lastFailure)) return false;
  const { at, runId, message } = lastFailure;
  return typeof at === 'string' && typeof runId === 'string' && typeof message === 'string';
}

/** A host in quarantine now, with why and until when. */
export interface Quarantine {
  readonly until: string;
  readonly failedRuns: number;
  readonly message?: string;
}

/** Hosts of the config under quarantine at `now`. */
export function quarantinedHosts(config: Config, state: HostStateFile, now: Date): Map<string, Quarantine> {
  const out = new Map<string, Quarantine>();
  if (config.quarantine === undefined) return out;
  for (const host of config.hosts) {
    const health = state.hosts[host.name];
    if (health?.quarantinedUntil === undefined || Date.parse(health.quarantinedUntil) <= now.getTime()) continue;
    out.set(host.name, { until: health.quarantinedUntil, failedRuns: health.consecutiveFailedRuns, ...(health.lastFailure !== undefined ? { message: health.lastFailure.message } : {}) });
  }
  return out;
}

/**
 * The state after a run: failed hosts count one more failed run (and are quarantined
 * when they reach `quarantine.after`), hosts that worked start again from 0; hosts the
 * run did not use are unchanged. Hosts no longer in the config are dropped.
 */
export function nextHostState(
  config: Config,
  previous: HostStateFile,
  run: { readonly runId: string; readonly now: Date; readonly failed: ReadonlyMap<string, string>; readonly worked: ReadonlySet<string> },
): HostStateFile {
  const hosts: Record<string, HostHealth> = {};
  for (const host of config.hosts) {
    const before = previous.hosts[host.name];
    const failure = run.failed.get(host.name);
    if (failure !== undefined) {
      const count = (before?.consecutiveFailedRuns ?? 0) + 1;
      const quarantine = quarantineEnd(config.quarantine, count, run.now);
      hosts[host.name] = {
        consecutiveFailedRuns: count,
        lastFailure: { at: run.now.toISOString(), runId: run.runId, message: failure },
        ...(quarantine !== undefined ? { quarantinedUntil: quarantine } : before?.quarantinedUntil !== undefined ? { quarantinedUntil: before.quarantinedUntil } : {}),
      };
    } else if (run.worked.has(host.name)) {
      hosts[host.name] = { consecutiveFailedRuns: 0, ...(before?.lastFailure !== undefined ? { lastFailure: before.lastFailure } : {}) };
    } else if (before !== undefined) {
      hosts[host.name] = before;
    }
  }
  return { formatVersion: HOST_STATE_FORMAT_VERSION, hosts };
}

function quarantineEnd(quarantine: QuarantineConfig | undefined, failedRuns: number, now: Date): string | undefined {
  if (quarantine === undefined || failedRuns < quarantine.after) return undefined;
  return new Date(now.getTime() + quarantine.forSeconds * 1000).toISOString();
}

export async function writeHostState(stateDir: string, state: HostStateFile): Promise<void> {
  await writeFileAtomic(path.join(stateDir, HOST_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
