/**
 * Public data types of the scheduler core. Pure data: the scheduler takes these
 * and returns data, it never does I/O and never reads a clock.
 */

/** One build to schedule. */
export interface ScheduleJob {
  /** Unique id inside the set (the recipe id). */
  readonly id: string;
  /**
   * Ids of the jobs of the same set that must finish successfully before this one
   * starts. Ids not in the set are ignored (already built, or not part of this run);
   * duplicates are ignored.
   */
  readonly dependsOn: readonly string[];
  /** Expected duration in seconds (finite, >= 0), from history or a default. */
  readonly seconds: number;
  /** Host labels the job requires: it is eligible on a host that has all of them. */
  readonly labels?: readonly string[];
  /**
   * The fair-share group of the job (reconcile: its branch). While several groups have
   * ready jobs, a free slot goes to the group with the fewest running builds, so that
   * groups share the hosts equally; a group without ready work leaves its slots to the
   * others. Inside a group, the queue order holds. Absent: one common group.
   */
  readonly share?: string;
}

/** One build host, as the scheduler sees it. */
export interface ScheduleHost {
  /** Unique host name; also the host order used to break ties (the order given). */
  readonly name: string;
  /** How many builds the host runs at once (integer >= 1). */
  readonly power: number;
  /** Labels the host offers. */
  readonly labels: readonly string[];
  /** False when the host must not get new builds. */
  readonly up: boolean;
  /**
   * The 1-minute load average above which the host counts as full: it gets no new
   * builds until a lower load is reported ({@link Scheduler.setHostLoad}). Absent: the
   * load is not looked at. Unlike a down host, a full host keeps its jobs schedulable.
   */
  readonly maxLoad?: number;
}

/**
 * Order of the ready queue.
 * - `critical-path`: longest remaining path first (own seconds plus the longest chain of
 *   dependents' seconds); ties: more direct dependents first, then id (code-unit order).
 * - `fifo`: in the order jobs became ready; jobs made ready by the same event in input order.
 */
export type QueueOrder = 'critical-path' | 'fifo';

/** Options shared by {@link Scheduler} and {@link simulate}. */
export interface ScheduleOptions {
  /** Ready-queue order; default `critical-path`. */
  readonly order?: QueueOrder;
}

/** A proposal to start a job now on a host. */
export interface Assignment {
  readonly jobId: string;
  /** Host name. */
  readonly host: string;
}

/** How a started job ended. */
export type JobOutcome =
  /** Built: its dependents may start. */
  | 'ok'
  /** The build failed: its transitive dependents are blocked (`dependency-failed`). */
  | 'failed'
  /** Infrastructure fault (host lost, transport error): the job goes back to the ready queue. */
  | 'lost';

/**
 * Where a job stands.
 * - `waiting`: some dependency has not finished yet;
 * - `ready`: may start as soon as an eligible host has a free slot;
 * - `running`: started, not finished;
 * - `done`, `failed`: finished with that outcome;
 * - `blocked`: will not run because of another job (see {@link BlockedJob});
 * - `unschedulable`: no up host has all of its labels (final for this scheduler);
 * - `cyclic`: member of a dependency cycle, never ready.
 */
export type JobStatus = 'waiting' | 'ready' | 'running' | 'done' | 'failed' | 'blocked' | 'unschedulable' | 'cyclic';

/**
 * Why a job is blocked. The values are the plan's skip reasons:
 * - `dependency-failed`: a dependency (transitively) failed;
 * - `dependency-skipped`: a dependency (transitively) is unschedulable (`no-eligible-host`);
 * - `dependency-cycle`: a dependency (transitively) is in a dependency cycle.
 */
export type BlockReason = 'dependency-failed' | 'dependency-skipped' | 'dependency-cycle';

/** A job that will not run because of another one. */
export interface BlockedJob {
  readonly jobId: string;
  readonly reason: BlockReason;
  /** The failed, unschedulable or cyclic job that holds it back. */
  readonly cause: string;
}

/** What a state change of the {@link Scheduler} caused, for the caller to record. */
export interface SchedulerUpdate {
  /** Jobs that became ready (in input order). */
  readonly ready: readonly string[];
  /** Jobs newly blocked (in input order within each cause). */
  readonly blocked: readonly BlockedJob[];
  /** Jobs that became unschedulable: no up host has their labels (in input order). */
  readonly unschedulable: readonly string[];
}

/** A running job and its host. */
export interface RunningJob {
  readonly jobId: string;
  readonly host: string;
}

/** One simulated build. Times in seconds from the start of the run. */
export interface SimulatedAssignment {
  readonly id: string;
  readonly host: string;
  readonly start: number;
  readonly end: number;
}

/** Why a simulated job never ran. */
export type NotRunReason = 'no-eligible-host' | BlockReason;

/** A job the simulation could not run. */
export interface UnscheduledJob {
  readonly id: string;
  readonly reason: NotRunReason;
  /** For blocked jobs: the unschedulable or cyclic job that holds it back. */
  readonly cause?: string;
}

/** Result of {@link simulate}. Seconds, not rounded. */
export interface SimulationResult {
  /** End of the last build (0 when nothing runs). */
  readonly makespanSeconds: number;
  /**
   * max(critical path length, total work / total power of the up hosts that can run
   * some job), over the jobs that can run. No schedule can finish earlier.
   */
  readonly lowerBoundSeconds: number;
  /** Every build, in start order (ties in the order they were assigned). */
  readonly assignments: readonly SimulatedAssignment[];
  /** Jobs that never ran: no eligible host, in a cycle, or held back by one of those (input order). */
  readonly unscheduled: readonly UnscheduledJob[];
  /** Dependency cycles found in the input, each in input order. */
  readonly cycles: readonly (readonly string[])[];
}

/** The planner's estimate: {@link SimulationResult} figures rounded up to whole seconds. */
export interface ScheduleEstimate {
  readonly makespanSeconds: number;
  readonly lowerBoundSeconds: number;
}
