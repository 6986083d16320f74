/**
 * The pure scheduler core: host choice, critical-path ordering, the incremental
 * scheduler for real runs and the virtual-time simulation for estimates.
 */
export type {
  Assignment,
  BlockReason,
  BlockedJob,
  JobOutcome,
  JobStatus,
  NotRunReason,
  QueueOrder,
  RunningJob,
  ScheduleEstimate,
  ScheduleHost,
  ScheduleJob,
  ScheduleOptions,
  SchedulerUpdate,
  SimulatedAssignment,
  SimulationResult,
  UnscheduledJob,
} from './types.js';
export { pickHost, hasLabels, type RunningCounts } from './host.js';
export { Scheduler } from './scheduler.js';
export { simulate, estimate } from './simulate.js';
