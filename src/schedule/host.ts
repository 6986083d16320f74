/**
 * Host choice, after FreeBSD portbuild's `checkmachines`.
 */
import type { ScheduleHost, ScheduleJob } from './types.js';

/** Builds running per host name; a missing name counts as 0. */
export type RunningCounts = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

/**
 * Chooses the host for a job, the way portbuild's `checkmachines` did:
 *
 * 1. eligible hosts: up, having every label of the job, and a free slot
 *    (`running < power`);
 * 2. of those, all the hosts with the minimal `floor(running / power)` (not only the
 *    single least loaded one);
 * 3. of those, the one with the most free slots (`power - running`);
 * 4. remaining ties: the first in `hosts` order.
 *
 * Because a host never runs more than `power` builds, every host with a free slot has
 * `floor(running / power) = 0`: step 2 keeps all eligible hosts and step 3 decides.
 *
 * @returns the chosen host, or `undefined` when no host is eligible now.
 */
export function pickHost<H extends ScheduleHost>(
  hosts: readonly H[],
  running: RunningCounts,
  job: Pick<ScheduleJob, 'labels'>,
): H | undefined {
  const count = (name: string): number =>
    isMap(running) ? (running.get(name) ?? 0) : (running[name] ?? 0);
  const labels = job.labels ?? [];
  const candidates: number[] = [];
  const power: number[] = [];
  const run: number[] = [];
  const up: boolean[] = [];
  hosts.forEach((h, i) => {
    power.push(h.power);
    run.push(count(h.name));
    up.push(h.up);
    if (hasLabels(h.labels, labels)) candidates.push(i);
  });
  const i = chooseHost(candidates, power, run, up);
  return i < 0 ? undefined : hosts[i];
}

function isMap(r: RunningCounts): r is ReadonlyMap<string, number> {
  return r instanceof Map;
}

/** True when `offered` contains every label of `required`. */
export function hasLabels(offered: readonly string[], required: readonly string[]): boolean {
  return required.every((l) => offered.includes(l));
}

/**
 * The host rule of {@link pickHost} over host indices.
 *
 * @param candidates indices of the hosts whose labels fit, ascending (host order).
 * @param full hosts above their load threshold: treated as having no free slot.
 * @returns the chosen index, or -1.
 */
export function chooseHost(
  candidates: readonly number[],
  power: ArrayLike<number>,
  running: ArrayLike<number>,
  up: ArrayLike<boolean>,
  full?: ArrayLike<boolean>,
): number {
  let best = -1;
  let bestTier = 0;
  let bestFree = 0;
  for (let k = 0; k < candidates.length; k++) {
    const i = candidates[k]!;
    if (!up[i] || full?.[i] === true) continue;
    const p = power[i]!;
    const r = running[i]!;
    if (r >= p) continue;
    const tier = Math.floor(r / p);
    const free = p - r;
    if (best < 0 || tier < bestTier || (tier === bestTier && free > bestFree)) {
      best = i;
      bestTier = tier;
      bestFree = free;
    }
  }
  return best;
}
