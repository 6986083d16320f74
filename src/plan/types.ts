/**
 * The plan: what reconcile would do for each branch, and why. This is the
 * `plan --format json` document of DESIGN.md (formatVersion 1); fields may be
 * added, none renamed.
 */

export const PLAN_FORMAT_VERSION = 1;

export type BuildReason =
  | 'new'
  | 'version-changed'
  | 'inputs-changed'
  | 'dependency-changed'
  | 'prerequisite-changed'
  | 'pipeline-changed'
  | 'retry';

export type SkipReason =
  | 'dud'
  | 'dependency-skipped'
  | 'failed-unchanged'
  | 'dependency-failed'
  | 'rejected'
  | 'no-eligible-host'
  | 'unresolvable'
  | 'invalid-recipe'
  | 'dependency-cycle'
  | 'no-repo'
  | 'awaiting-review'
  | 'not-for-architecture';

export type RemoveReason = 'not-in-source';

/** One input that differs from the one the published package was built with. */
export interface InputChange {
  /** Which kind of input changed. */
  readonly kind: 'version' | 'recipe-file' | 'pipeline' | 'prerequisite' | 'dependency';
  /** The file, prerequisite or dependency name (absent for version and pipeline). */
  readonly name?: string;
  /** `old -> new`, `added`, `removed`, … */
  readonly detail: string;
}

export interface BuildAction {
  readonly type: 'build';
  /** The recipe id (for native recipes, the package name). */
  readonly package: string;
  /** Every package this build produces (more than one for split recipes). */
  readonly packages: readonly string[];
  /** The full version `[epoch:]version-release`. */
  readonly version: string;
  readonly repo: string;
  readonly reason: BuildReason;
  readonly detail?: string;
  /** Every input that changed, when known (the first one gives `reason`). */
  readonly changes?: readonly InputChange[];
  /** Builds of this plan that must finish first (recipe ids). */
  readonly dependsOn: readonly string[];
  /** The fingerprint the built package will carry. */
  readonly fingerprint: string;
  /**
   * Present when the build goes to the staging area instead of the repo, saying
   * why: its repo has `review: manual`, or it is built against a build that
   * awaits review.
   */
  readonly review?: string;
  /**
   * Git sources: the commits since the package's last successful build,
   * `<commit of the last build>..<source commit>` (absent when unknown or the same commit).
   */
  readonly sourceRange?: string;
}

export interface SkipAction {
  readonly type: 'skip';
  readonly package: string;
  readonly version?: string;
  readonly reason: SkipReason;
  readonly detail?: string;
  /** How many distinct packages this skip holds back, transitively. */
  readonly blocks: number;
}

export interface RemoveAction {
  readonly type: 'remove';
  readonly package: string;
  readonly version: string;
  readonly repo: string;
  readonly reason: RemoveReason;
}

export type PlanAction = BuildAction | SkipAction | RemoveAction;

/** Seconds; from the scheduler's simulation over the branch's eligible hosts. */
export interface Estimate {
  readonly makespanSeconds: number;
  readonly lowerBoundSeconds: number;
}

/** A prune or storm guard the plan goes over: `reconcile` refuses it unless `--allow-large`. */
export type GuardViolation =
  | { readonly guard: 'maxBuilds'; readonly limit: number; readonly value: number }
  | {
      readonly guard: 'maxRemovePercent';
      readonly repo: string;
      /** Percent. */
      readonly limit: number;
      /** Percent of the repo's packages the plan removes (one decimal). */
      readonly value: number;
      readonly removals: number;
      /** Packages the repo holds now. */
      readonly packages: number;
    };

export interface BranchPlan {
  readonly name: string;
  /** For git sources: the commit the recipes were read at. */
  readonly sourceCommit?: string;
  /** Guards this plan goes over (absent when none): reconcile refuses it unless `--allow-large`. */
  readonly guardViolations?: readonly GuardViolation[];
  readonly actions: readonly PlanAction[];
  /** Packages whose published fingerprint matches the desired one. */
  readonly upToDate: number;
  readonly estimate: Estimate;
  /** The branch's prerequisites and where reconcile must install them; absent when it has none. */
  readonly prerequisites?: PrerequisitePlan;
}

/** A branch's prerequisite root and, per host it may build on, what reconcile does about it. */
export interface PrerequisitePlan {
  /** The root's key: the sha256 of the only tarball, or of the ordered list of digests. */
  readonly root: string;
  /** In extraction order. */
  readonly tarballs: readonly { readonly name: string; readonly sha256: string }[];
  /**
   * `installed`: the record says this root is there (reconcile still checks the host);
   * `install`: none recorded; `replace`: another root (`installedRoot`) is recorded, and is
   * removed once the new one is made. Hosts get roots before their first build of the branch.
   */
  readonly hosts: readonly { readonly host: string; readonly status: 'installed' | 'install' | 'replace'; readonly installedRoot?: string }[];
}

/** A host the plan leaves out because it failed in consecutive runs (hosts.yaml `quarantine:`). */
export interface QuarantinedHost {
  readonly host: string;
  /** ISO 8601 end of the quarantine. */
  readonly until: string;
  readonly failedRuns: number;
  /** The last failure's message. */
  readonly lastError?: string;
}

export interface Plan {
  readonly formatVersion: typeof PLAN_FORMAT_VERSION;
  readonly branches: readonly BranchPlan[];
  /** Hosts under quarantine: they get no builds (absent when none is). */
  readonly quarantinedHosts?: readonly QuarantinedHost[];
}

/** A plan saved with `plan --out FILE`, to be applied exactly by `reconcile --plan FILE`. */
export interface SavedPlan extends Plan {
  readonly kind: 'buildfleet-plan';
  /** When it was computed (ISO 8601). */
  readonly createdAt: string;
  /** sha256 of the desired state (config + recipes) and of the observed state (repos + ledger) it was computed from. */
  readonly stateDigest: { readonly desired: string; readonly observed: string };
  /** The options the plan was made with; reconcile applies them too. */
  readonly options?: { readonly retryFailed: boolean };
}

/** True when some branch of the plan goes over a guard. */
export function exceedsGuards(plan: Plan): boolean {
  return plan.branches.some((b) => (b.guardViolations?.length ?? 0) > 0);
}

/** True when the plan has at least one build or remove action (skips alone are not changes). */
export function hasChanges(plan: Plan): boolean {
  return plan.branches.some((b) => b.actions.some((a) => a.type === 'build' || a.type === 'remove'));
}
