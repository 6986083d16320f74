/** The run result document (`reconcile --format json`, DESIGN.md), also saved as `<state>/runs/<runId>.json`. */

export const RUN_FORMAT_VERSION = 1;

/** Directory of the state directory holding the run results (`<runId>.json`, `latest.json`) and reports. */
export const RUNS_DIR = 'runs';

export type PackageStatus = 'built' | 'failed' | 'skipped' | 'removed' | 'staged';

export interface PackageResult {
  readonly package: string;
  readonly version?: string;
  readonly status: PackageStatus;
  readonly host?: string;
  /** Wall time of the build, seconds. */
  readonly seconds?: number;
  /** When the build started and ended (ISO 8601; builds run by this run). */
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Path of the build log. */
  readonly log?: string;
  /** Skips: the plan's skip reason, or `dependency-failed`, `aborted`, `no-eligible-host`. */
  readonly reason?: string;
  readonly detail?: string;
  /** Failures: the step that failed. */
  readonly phase?: string;
  /** Failures: the last lines of output. */
  readonly tail?: readonly string[];
  /** Built from the artifact cache of an earlier, interrupted run. */
  readonly cached?: boolean;
  readonly repo?: string;
}

export interface BranchResult {
  readonly name: string;
  readonly results: readonly PackageResult[];
  /** Hook and publish problems. */
  readonly errors: readonly string[];
}

export interface RunResult {
  readonly formatVersion: typeof RUN_FORMAT_VERSION;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** True when the run was stopped by a signal. */
  readonly interrupted: boolean;
  /** The config repository's commit when the run started, and whether its work tree differed from it (absent outside git). */
  readonly config?: { readonly commit: string; readonly dirty: boolean };
  readonly branches: readonly BranchResult[];
}

export function countStatuses(result: RunResult): Record<PackageStatus, number> {
  const counts: Record<PackageStatus, number> = { built: 0, failed: 0, skipped: 0, removed: 0, staged: 0 };
  for (const b of result.branches) for (const r of b.results) counts[r.status]++;
  return counts;
}
