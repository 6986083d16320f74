/**
 * The load averages of the hosts that have a `maxLoad` (portbuild's `reportload`):
 * read before builds are handed out, over the host's shell (SSH: a channel on the
 * run's connection), and trusted for `loadCheckInterval` so that a host is not asked
 * once per build. Not responsible for deciding what a load means: the scheduler
 * gets the figures as data.
 */
import { readFile } from 'node:fs/promises';
import type { HostConfig } from '../config/types.js';
import type { HostShell } from './transport.js';

/** Seconds a reading is trusted when hosts.yaml does not say (`loadCheckInterval`). */
export const DEFAULT_LOAD_CHECK_SECONDS = 10;
/** A reading is never trusted for less than this: waiting for a load to drop is never a busy loop. */
export const MIN_LOAD_CHECK_SECONDS = 1;
/** Seconds a reading may take before the load counts as unknown (the host's builds will find out whether it is down). */
export const LOAD_READ_TIMEOUT_SECONDS = 5;

/**
 * $1 the load file, or empty: the first field of /proc/loadavg (Linux) or of
 * `sysctl -n vm.loadavg` (FreeBSD, `{ 0.52 0.41 0.38 }`).
 */
const READ_LOAD = `if [ -n "$1" ]; then exec cat -- "$1"; fi
if [ -r /proc/loadavg ]; then exec cat /proc/loadavg; fi
exec sysctl -n vm.loadavg`;

/** The 1-minute load average in a loadavg text (`0.52 0.41 …` or `{ 0.52 0.41 … }`), or undefined. */
export function parseLoadAverage(text: string): number | undefined {
  const first = text.trim().replace(/^\{\s*/, '').split(/\s+/)[0] ?? '';
  if (!/^\d+(\.\d+)?$/.test(first)) return undefined;
  return Number(first);
}

/** Reads a host's 1-minute load: a local host's file directly, an SSH host's through its shell. */
export function loadReader(host: HostConfig, shell: HostShell): () => Promise<number | undefined> {
  if (host.transport === 'local') {
    return async () => {
      for (const file of host.loadFile !== undefined ? [host.loadFile] : ['/proc/loadavg']) {
        const text = await readFile(file, 'utf8').catch(() => undefined);
        if (text !== undefined) return parseLoadAverage(text);
      }
      const sysctl = await shell.exec(['sysctl', '-n', 'vm.loadavg'], { timeoutSeconds: LOAD_READ_TIMEOUT_SECONDS }).catch(() => undefined);
      return sysctl?.code === 0 ? parseLoadAverage(sysctl.stdout) : undefined;
    };
  }
  return async () => {
    const result = await shell.exec(['sh', '-c', READ_LOAD, 'buildfleet-load', host.loadFile ?? ''], { timeoutSeconds: LOAD_READ_TIMEOUT_SECONDS });
    return result.code === 0 ? parseLoadAverage(result.stdout) : undefined;
  };
}

/** One host whose load is watched. */
export interface WatchedHost {
  readonly name: string;
  readonly maxLoad: number;
  /** Seconds a reading is trusted. */
  readonly intervalSeconds: number;
  readonly read: () => Promise<number | undefined>;
}

interface Reading {
  /** Undefined: unknown (unreadable, or the read took too long). */
  value: number | undefined;
  /** When it was taken (ms, the monitor's clock); -Infinity: never. */
  at: number;
  inflight: Promise<void> | undefined;
}

/** Load readings of the watched hosts, refreshed when older than each host's interval. */
export class HostLoadMonitor {
  private readonly readings = new Map<string, Reading>();
  private readonly hosts: readonly WatchedHost[];
  /** Readings taken so far (for tests and notes). */
  reads = 0;

  constructor(
    hosts: readonly WatchedHost[],
    private readonly options: { readonly now?: () => number; readonly readTimeoutSeconds?: number } = {},
  ) {
    this.hosts = hosts;
    for (const h of hosts) this.readings.set(h.name, { value: undefined, at: Number.NEGATIVE_INFINITY, inflight: undefined });
  }

  /** Whether any host is watched. */
  get active(): boolean {
    return this.hosts.length > 0;
  }

  private now(): number {
    return this.options.now?.() ?? performance.now();
  }

  private intervalMs(h: WatchedHost): number {
    return Math.max(MIN_LOAD_CHECK_SECONDS, h.intervalSeconds) * 1000;
  }

  /**
   * The loads of the watched hosts among `names` (all when absent), reading again those
   * whose reading is stale. A read that takes longer than the read timeout leaves the
   * load unknown until the next interval (it goes on in the background).
   */
  async refresh(names?: ReadonlySet<string>): Promise<Map<string, number | undefined>> {
    const now = this.now();
    const waits: Promise<void>[] = [];
    for (const h of this.hosts) {
      if (names !== undefined && !names.has(h.name)) continue;
      const r = this.readings.get(h.name)!;
      if (now - r.at < this.intervalMs(h)) continue;
      if (r.inflight !== undefined) {
        waits.push(r.inflight);
        continue;
      }
      this.reads++;
      const inflight = h.read().then(
        (value) => {
          r.value = value;
          r.at = this.now();
        },
        () => {
          r.value = undefined;
          r.at = this.now();
        },
      );
      r.inflight = inflight.finally(() => {
        r.inflight = undefined;
      });
      waits.push(r.inflight);
    }
    if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, (this.options.readTimeoutSeconds ?? LOAD_READ_TIMEOUT_SECONDS) * 1000)));
      await Promise.race([Promise.all(waits), timeout]);
      clearTimeout(timer);
      // Reads still running: unknown for now, asked again after the interval.
      const later = this.now();
      for (const h of this.hosts) {
        const r = this.readings.get(h.name)!;
        if (r.inflight !== undefined && later - r.at >= this.intervalMs(h)) {
          r.value = undefined;
          r.at = later;
        }
      }
    }
    const out = new Map<string, number | undefined>();
    for (const h of this.hosts) if (names === undefined || names.has(h.name)) out.set(h.name, this.readings.get(h.name)!.value);
    return out;
  }

  /** Milliseconds until the first of `names` has a stale reading (0 when one is stale already). */
  msUntilStale(names: Iterable<string>): number {
    const now = this.now();
    let soonest = Number.POSITIVE_INFINITY;
    for (const name of names) {
      const h = this.hosts.find((x) => x.name === name);
      const r = this.readings.get(name);
      if (h === undefined || r === undefined) continue;
      soonest = Math.min(soonest, Math.max(0, r.at + this.intervalMs(h) - now));
    }
    return soonest;
  }
}
