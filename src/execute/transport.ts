/**
 * How a build reaches a host. The local transport runs it on this machine; the
 * SSH transport (later) runs it on a remote one. Both produce the same result.
 */
import type { PipelineConfig } from '../config/types.js';

/**
 * The file-name stem of a build's workspace: the recipe id with `/` mapped to
 * `_`, as a FreeBSD origin (`devel/foo`) is not one path component.
 */
export function workspaceStem(recipeId: string): string {
  return recipeId.replaceAll('/', '_');
}

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
  /** Path on the host of the branch's extracted prerequisites (BUILDFLEET_ROOT), when it has any. */
  readonly root?: string;
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

/** What a command run through a HostShell returned. */
export interface ShellResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Low-level operations on a host, below builds: used to install prerequisite roots,
 * probe load and capabilities. Local: child processes and fs; SSH: a channel and SFTP.
 */
export interface HostShell {
  /** Runs argv (no shell interpretation: each element arrives as one argument) on the host. */
  exec(argv: readonly string[], options?: { readonly signal?: AbortSignal; readonly timeoutSeconds?: number }): Promise<ShellResult>;
  /** Copies a local file to an absolute path on the host (written whole or not at all). */
  upload(localPath: string, remotePath: string): Promise<void>;
}

export interface Transport {
  readonly hostName: string;
  /** Absolute path on the host under which workspaces and prerequisite roots live. */
  readonly workdir: string;
  readonly shell: HostShell;
  build(request: BuildRequest): Promise<BuildResult>;
  /** Frees connections; local: nothing to do. */
  close(): Promise<void>;
}
