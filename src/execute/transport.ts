/**
 * How a build reaches a host. The local transport runs it on this machine; the
 * SSH transport (later) runs it on a remote one. Both produce the same result.
 */
import type { PipelineConfig } from '../config/types.js';

/** An artifact file to hand to a build (a dependency's package) or that a build produced. */
export interface ArtifactFile {
  /** Package name. */
  readonly name: string;
  /** File name (in the repo and in BUILDFLEET_DEPS). */
  readonly file: string;
  /** Absolute local path. */
  readonly path: string;
}

export interface BuildRequest {
  readonly runId: string;
  readonly branch: string;
  readonly recipeId: string;
  /** Packages the recipe produces. */
  readonly packages: readonly string[];
  /** Full version `[epoch:]version-release`. */
  readonly version: string;
  readonly fingerprint: string;
  /** Absolute path of the recipe directory; copied into the workspace. */
  readonly recipeDir: string;
  readonly pipeline: PipelineConfig;
  /** Artifacts of the build's dependencies, put in BUILDFLEET_DEPS. */
  readonly deps: readonly ArtifactFile[];
  /** Where the build's output goes (truncated first). */
  readonly logFile: string;
  /** Aborting interrupts the build (recorded as aborted). */
  readonly signal: AbortSignal;
  /** Aborting kills the build's processes at once (a second interrupt). */
  readonly killSignal?: AbortSignal;
  /** Seconds between SIGTERM and SIGKILL when a step is stopped. */
  readonly graceSeconds: number;
  /** Keep the workspace of a failed build for inspection. */
  readonly keepFailedWorkspace: boolean;
}

export type BuildStatus = 'built' | 'failed' | 'aborted' | 'lost';

export interface BuildResult {
  /** built; failed (the package's fault); aborted (interrupted); lost (host or transport fault: retried). */
  readonly status: BuildStatus;
  /** The step that failed (or `prepare`, `collect`). */
  readonly phase?: string;
  /** What went wrong, one line. */
  readonly message?: string;
  /** The last lines of output. */
  readonly tail: readonly string[];
  /** Wall time, seconds. */
  readonly seconds: number;
  /** Artifacts, one or more per package (built only); valid until `release`. */
  readonly artifacts: readonly ArtifactFile[];
  /** The kept workspace of a failed build. */
  readonly keptWorkspace?: string;
  /** Removes the workspace (after the artifacts were stored). */
  release(): Promise<void>;
}

export interface Transport {
  readonly hostName: string;
  build(request: BuildRequest): Promise<BuildResult>;
  /** Frees connections; local: nothing to do. */
  close(): Promise<void>;
}
