/**
 * Whether a saved plan (`plan --out FILE`) may be applied: only when the desired
 * and observed state are still the ones it was computed from, and it holds
 * exactly the builds and removals reconcile would do now.
 */
import type { Diagnostic } from '../config/diagnostic.js';
import type { Plan, SavedPlan } from '../plan/types.js';

/** A located refusal, or null when the saved plan is what reconcile would do now. */
export function checkSavedPlan(saved: SavedPlan, current: Plan, digest: SavedPlan['stateDigest']): Diagnostic | null {
  const changed = [
    saved.stateDigest.desired !== digest.desired ? 'the desired state (config or recipes)' : '',
    saved.stateDigest.observed !== digest.observed ? 'the observed state (repos or ledger)' : '',
  ].filter((s) => s !== '');
  if (changed.length > 0) {
    return {
      severity: 'error',
      file: 'plan',
      message: `the saved plan is stale: ${changed.join(' and ')} changed since it was made (${saved.createdAt})`,
      hint: 'run `buildfleet plan --out FILE` again, review it, and apply the new plan',
    };
  }
  // Same state but other options (a plan saved without its options, applied with another --retry-failed).
  const differences = changesNotIn(saved, current).map((c) => `the saved plan would ${c}, the current one would not`);
  differences.push(...changesNotIn(current, saved).map((c) => `the current plan would ${c}, the saved one would not`));
  if (differences.length === 0) return null;
  return {
    severity: 'error',
    file: 'plan',
    message: `the saved plan is not what reconcile would do now: ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? ` (and ${differences.length - 5} more)` : ''}`,
    hint: 'pass reconcile the same --retry-failed as plan had, or run `buildfleet plan --out FILE` again, review it, and apply the new plan',
  };
}

/** The builds and removals of `plan` that `other` does not have, one phrase each. */
function changesNotIn(plan: Plan, other: Plan): string[] {
  const changes = (p: Plan): Map<string, string> => {
    const out = new Map<string, string>();
    for (const b of p.branches) {
      for (const a of b.actions) {
        if (a.type === 'build') out.set(`${b.name}\0build\0${a.package}\0${a.version}\0${a.fingerprint}`, `build ${b.name}/${a.package} ${a.version}`);
        else if (a.type === 'remove') out.set(`${b.name}\0remove\0${a.package}\0${a.repo}`, `remove ${b.name}/${a.package} from ${a.repo}`);
      }
    }
    return out;
  };
  const theirs = changes(other);
  return [...changes(plan)].filter(([key]) => !theirs.has(key)).map(([, phrase]) => phrase);
}
