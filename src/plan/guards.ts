/**
 * Prune and storm guards: a plan that would build more than `maxBuilds`
 * packages, or remove more than `maxRemovePercent` of a repo's packages, is
 * flagged up front; `reconcile` refuses it unless `--allow-large`. Pure.
 */
import type { GuardsConfig } from '../config/types.js';
import type { BranchPlan, GuardViolation } from './types.js';

export type Guards = GuardsConfig;

/** Every guard the plan's actions go over; `repoSizes` are the packages each repo holds now. */
export function checkGuards(actions: BranchPlan['actions'], repoSizes: ReadonlyMap<string, number>, guards: Guards): GuardViolation[] {
  const violations: GuardViolation[] = [];
  const builds = actions.filter((a) => a.type === 'build').length;
  if (guards.maxBuilds !== null && builds > guards.maxBuilds) violations.push({ guard: 'maxBuilds', limit: guards.maxBuilds, value: builds });
  const removals = new Map<string, number>();
  for (const a of actions) if (a.type === 'remove') removals.set(a.repo, (removals.get(a.repo) ?? 0) + 1);
  for (const [repo, count] of [...removals].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const size = repoSizes.get(repo) ?? count;
    const percent = size === 0 ? 100 : (count * 100) / size;
    if (percent > guards.maxRemovePercent) {
      violations.push({ guard: 'maxRemovePercent', repo, limit: guards.maxRemovePercent, value: Math.round(percent * 10) / 10, removals: count, packages: size });
    }
  }
  return violations;
}

/** One line per violation: what the plan would do and which limit it passes. */
export function describeViolation(v: GuardViolation): string {
  return v.guard === 'maxBuilds'
    ? `${v.value} builds, more than guards.maxBuilds ${v.limit}`
    : `removes ${v.removals} of the ${v.packages} packages of repo ${v.repo} (${v.value}%), more than guards.maxRemovePercent ${v.limit}%`;
}
