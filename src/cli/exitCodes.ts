/** Exit codes of the `buildfleet` command (DESIGN.md). */
export const ExitCode = {
  /** Nothing to do, or everything built. */
  ok: 0,
  /** Usage or config error. */
  error: 1,
  /** Changes pending (only `plan --detailed-exitcode`). */
  changes: 2,
  /** The run finished but some builds failed. */
  buildsFailed: 3,
  /** Another reconcile holds the lock on the state directory. */
  locked: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
