/**
 * Between a run's scheduler and the hosts' load averages (hosts.yaml `maxLoad`):
 * before builds are handed out, the loads of the hosts that could take one are read
 * (cached per host for `loadCheckInterval`) and given to the scheduler, which treats
 * a host above its threshold as full. Says when a host fills up or frees, and when
 * the whole run waits for a load to drop; tells the run loop when to look again.
 * Not responsible for reading loads (HostLoadMonitor) nor for choosing hosts.
 */
import type { HostConfig } from '../config/types.js';
import { DEFAULT_LOAD_CHECK_SECONDS, HostLoadMonitor, loadReader } from '../execute/hostLoad.js';
import type { Transport } from '../execute/transport.js';
import type { Scheduler } from '../schedule/index.js';

/** What the gate reports (the run's `note`). */
export type LoadNote = (message: string, data: Record<string, unknown>) => void;

/** Never look again sooner than this while waiting (ms): no busy loop, whatever the readings. */
const MIN_RECHECK_MS = 100;

export class LoadGate {
  private readonly monitor: HostLoadMonitor;
  private readonly maxLoad = new Map<string, number>();
  private readonly power = new Map<string, number>();
  private readonly full = new Map<string, number>();
  private waitingAnnounced = false;

  constructor(
    private readonly scheduler: Scheduler,
    hosts: readonly HostConfig[],
    transports: ReadonlyMap<string, Transport>,
    private readonly options: { readonly isUp: (host: string) => boolean; readonly note: LoadNote },
  ) {
    const watched = hosts.flatMap((h) => {
      const transport = transports.get(h.name);
      if (h.maxLoad === undefined || transport === undefined) return [];
      this.maxLoad.set(h.name, h.maxLoad);
      this.power.set(h.name, h.power);
      return [{ name: h.name, maxLoad: h.maxLoad, intervalSeconds: h.loadCheckIntervalSeconds ?? DEFAULT_LOAD_CHECK_SECONDS, read: loadReader(h, transport.shell) }];
    });
    this.monitor = new HostLoadMonitor(watched);
  }

  /** Load readings taken so far. */
  get reads(): number {
    return this.monitor.reads;
  }

  /**
   * Brings the scheduler's view of the loads up to date before builds are handed out:
   * hosts that are up and have a free slot are read when their reading is stale. Does
   * nothing while no job is ready.
   */
  async update(): Promise<void> {
    if (!this.monitor.active || !this.scheduler.hasReadyJobs()) return;
    const running = this.scheduler.load();
    const names = new Set<string>();
    for (const [name] of this.maxLoad) {
      if (!this.options.isUp(name)) {
        this.set(name, undefined);
        continue;
      }
      if ((running.get(name) ?? 0) < this.power.get(name)!) names.add(name);
    }
    if (names.size === 0) return;
    const loads = await this.monitor.refresh(names);
    for (const [name, load] of loads) this.set(name, load);
  }

  /**
   * Milliseconds after which the loads are worth reading again: some host is full while
   * work is ready. Undefined when nothing waits for a load to drop.
   */
  recheckDelay(): number | undefined {
    if (this.full.size === 0 || !this.scheduler.hasReadyJobs()) return undefined;
    return Math.max(MIN_RECHECK_MS, this.monitor.msUntilStale(this.full.keys()));
  }

  /** Says (once per wait) that nothing runs and every host that could take the ready builds is above its maxLoad. */
  announceWait(): void {
    if (this.waitingAnnounced) return;
    this.waitingAnnounced = true;
    const hosts = [...this.full].map(([host, load]) => ({ host, load, maxLoad: this.maxLoad.get(host)! }));
    this.options.note(
      `waiting: every host that could take the remaining builds is above its maxLoad (${hosts.map((h) => `${h.host} ${h.load} > ${h.maxLoad}`).join(', ')}); the loads are read again every loadCheckInterval`,
      { event: 'waiting-for-load', hosts },
    );
  }

  private set(name: string, load: number | undefined): void {
    const full = this.scheduler.setHostLoad(name, load);
    const was = this.full.has(name);
    if (full) this.full.set(name, load!);
    else this.full.delete(name);
    if (full && !was) {
      this.options.note(`host ${name}: load ${load} is above maxLoad ${this.maxLoad.get(name)}; no new builds there until it drops`, { event: 'host-load', host: name, load, maxLoad: this.maxLoad.get(name), full: true });
    } else if (!full && was) {
      this.waitingAnnounced = false;
      this.options.note(`host ${name}: load ${load ?? 'unknown'}, builds resume there`, { event: 'host-load', host: name, load: load ?? null, maxLoad: this.maxLoad.get(name), full: false });
    }
  }
}
