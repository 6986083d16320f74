/**
 * Runs builds on this machine. Each build gets a fresh workspace under
 * `<state>/<branch>/work/`: `build/` (a copy of the recipe directory, the steps'
 * working directory), `deps/` (BUILDFLEET_DEPS), `out/` (BUILDFLEET_OUT), `tmp/`,
 * and with overlay isolation `overlay/` (the build's upper layer; see isolation.ts).
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { HostConfig } from '../config/types.js';
import { BuildLog, logLimitOf } from './buildLog.js';
import { copyTree, linkOrCopy } from './fsUtil.js';
import { cgroupControllersFor, makeBuildCgroups, removeBuildCgroups, type BuildCgroups, type CgroupHits } from './buildCgroups.js';
import { buildStepCommand, workspaceDirs, type IsolationSupport } from './isolation.js';
import { BUILD_ID_VARIABLE, runStep, stepFailureMessage, type LeftoverProcess } from './runStep.js';
import { KEPT_MARKER } from './staleWorkspaces.js';
import { copyFile, rename } from 'node:fs/promises';
import { execa } from 'execa';
import { workspaceStem, type ArtifactFile, type BuildRequest, type BuildResult, type HostShell, type ShellResult, type Transport } from './transport.js';

export interface LocalTransportOptions {
  readonly host: HostConfig;
  /** `<state>/<branch>/work` is made per branch below this state directory. */
  readonly stateDir: string;
  /** The environment builds inherit (PATH, HOME, LANG…); secrets are not passed. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** What the isolation probe found on this machine (once per run): the launcher and the cgroups of isolated builds. */
  readonly isolation?: IsolationSupport;
}

/** Variables of the calling environment that builds see; everything else is left out. BUILDFLEET_BUILD_USER: the unprivileged user of pipelines/makepkg.yaml. */
export const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'SHELL', 'BUILDFLEET_BUILD_USER'];

/** Commands and file copies on this machine. */
export class LocalShell implements HostShell {
  async exec(argv: readonly string[], options: { readonly signal?: AbortSignal; readonly timeoutSeconds?: number } = {}): Promise<ShellResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('LocalShell.exec: empty argv');
    const result = await execa(file, args, {
      reject: false,
      stdin: 'ignore',
      ...(options.signal !== undefined ? { cancelSignal: options.signal } : {}),
      ...(options.timeoutSeconds !== undefined ? { timeout: options.timeoutSeconds * 1000 } : {}),
    });
    return { code: result.exitCode ?? 255, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    const partial = `${remotePath}.partial-${process.pid}`;
    await copyFile(localPath, partial);
    await rename(partial, remotePath);
  }
}

export class LocalTransport implements Transport {
  readonly hostName: string;
  /** Local builds keep workspaces and roots under the state directory (the host's `workdir` is for SSH hosts). */
  readonly workdir: string;
  readonly shell: HostShell = new LocalShell();

  constructor(private readonly options: LocalTransportOptions) {
    this.hostName = options.host.name;
    this.workdir = options.stateDir;
  }

  async close(): Promise<void> {}

  async build(request: BuildRequest): Promise<BuildResult> {
    const started = performance.now();
    const seconds = (): number => Math.round((performance.now() - started) / 10) / 100;
    const log = await BuildLog.open(request.logFile, logLimitOf(request.pipeline));
    log.header(`${request.branch}/${request.recipeId} ${request.version} on ${this.hostName} (run ${request.runId}, fingerprint ${request.fingerprint})`);
    const workRoot = path.join(this.options.stateDir, request.branch, 'work');
    let workspace = '';
    try {
      await mkdir(workRoot, { recursive: true });
      // A FreeBSD origin `category/port` holds a slash: the workspace is one directory of workRoot all the same.
      workspace = await mkdtemp(path.join(workRoot, `${workspaceStem(request.recipeId)}-`));
      await copyTree(request.recipeDir, path.join(workspace, 'build'));
      await Promise.all(workspaceDirs(request.pipeline.isolation).map((dir) => mkdir(path.join(workspace, dir), { recursive: true })));
      await Promise.all(request.deps.map((dep) => linkOrCopy(dep.path, path.join(workspace, 'deps', dep.file))));
    } catch (error) {
      const message = `could not prepare the workspace: ${(error as Error).message}`;
      // A half-made workspace (the recipe directory vanished, the disk is full) is not left behind.
      if (workspace !== '') await rm(workspace, { recursive: true, force: true });
      log.line(`buildfleet: ${message}`);
      await log.close();
      return { status: 'lost', phase: 'prepare', message, tail: log.tail(), seconds: seconds(), artifacts: [], release: async () => {} };
    }
    const remove = async (): Promise<void> => rm(workspace, { recursive: true, force: true });
    // Tags every process of the build: what it leaves running after a step is found and killed by it.
    const buildId = `${request.runId}.${path.basename(workspace)}`;
    const env: Record<string, string> = {
      ...this.options.baseEnv,
      BUILDFLEET_BRANCH: request.branch,
      BUILDFLEET_PACKAGE: request.recipeId,
      BUILDFLEET_VERSION: request.version,
      [BUILD_ID_VARIABLE]: buildId,
    };
    const { isolation, limits } = request.pipeline;
    const support = this.options.isolation?.overlay === true ? this.options.isolation : undefined;
    const controllers = isolation === 'overlay' ? cgroupControllersFor(limits, support?.cgroups ?? []) : [];
    if (isolation === 'overlay' && limits.processes !== undefined && !controllers.includes('pids') && process.getuid?.() === 0) {
      log.line('buildfleet: limits.processes is not enforced here: builds run as root, whom the kernel exempts from RLIMIT_NPROC, and this host has no pids cgroup for them (docs/ISOLATION.md)');
    }
    // The build's cgroups: made before its first step, read and removed after its last.
    let cgroups: BuildCgroups | undefined;
    const endCgroups = async (): Promise<CgroupHits | undefined> => {
      if (cgroups === undefined) return undefined;
      const removed = await removeBuildCgroups(this.shell, cgroups);
      cgroups = undefined;
      if (removed.error !== undefined) log.line(`buildfleet: ${removed.error}`);
      if (removed.killed.length > 0) log.line(`buildfleet: warning: the build left ${removed.killed.length} process${removed.killed.length === 1 ? '' : 'es'} in its cgroup; killed: ${removed.killed.join(', ')}`);
      return removed.hits;
    };

    const fail = async (status: 'failed' | 'aborted' | 'lost', phase: string, message: string): Promise<BuildResult> => {
      await endCgroups();
      log.line(`buildfleet: ${phase} ${message}`);
      await log.close();
      const keep = status === 'failed' && request.keepFailedWorkspace;
      if (keep) await writeFile(path.join(workspace, KEPT_MARKER), `kept after the failure of ${request.recipeId} ${request.version} in run ${request.runId}\n`);
      else await remove();
      return { status, phase, message, tail: log.tail(), seconds: seconds(), artifacts: [], ...(keep ? { keptWorkspace: workspace } : {}), release: async () => {} };
    };

    if (controllers.length > 0) {
      const made = await makeBuildCgroups(this.shell, path.basename(workspace), controllers, limits);
      if (!made.ok) return fail('lost', 'prepare', made.message);
      cgroups = made.cgroups;
    }

    for (const step of request.pipeline.steps) {
      log.header(`step ${step.name}: ${step.run}`);
      const command = buildStepCommand(step, { isolation, workspace, root: request.root, limits, host: support, cgroups });
      if (!command.ok) return fail('failed', step.name, command.message);
      const outcome = await runStep({
        argv: command.command.argv,
        cwd: command.command.cwd,
        env: { ...env, ...command.command.env },
        timeoutSeconds: step.timeoutSeconds,
        ...(step.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: step.idleTimeoutSeconds } : {}),
        graceSeconds: request.graceSeconds,
        signal: request.signal,
        ...(request.killSignal !== undefined ? { killSignal: request.killSignal } : {}),
        onOutput: (chunk) => log.write(chunk),
        buildId,
        onLeftovers: (killed) => log.line(leftoversWarning(step.name, killed)),
      });
      if (outcome.kind === 'ok') continue;
      const status = outcome.kind === 'aborted' ? 'aborted' : outcome.kind === 'spawn-error' ? 'lost' : 'failed';
      const held = cgroups?.controllers ?? [];
      const hits = await endCgroups();
      return fail(status, step.name, stepFailureMessage(outcome, log.tail(), isolation, limits, { controllers: held, hits }));
    }
    await endCgroups();

    let artifacts: ArtifactFile[];
    try {
      artifacts = await collectArtifacts(workspace, request);
    } catch (error) {
      return fail('failed', 'collect', (error as Error).message);
    }
    log.header(`built in ${seconds()}s: ${artifacts.map((a) => a.file).join(', ')}`);
    await log.close();
    return { status: 'built', tail: log.tail(), seconds: seconds(), artifacts, release: remove };
  }
}

/** The build log's warning about processes a step left running (killed after it). */
export function leftoversWarning(step: string, killed: readonly LeftoverProcess[]): string {
  const list = killed.map((p) => `${p.pid} (${p.command})`).join(', ');
  return `buildfleet: warning: step ${step} left ${killed.length} process${killed.length === 1 ? '' : 'es'} running outside its process group; killed: ${list}`;
}

/** Files in out/ plus the pipeline's artifact globs (relative to build/), each assigned to a package. */
async function collectArtifacts(workspace: string, request: BuildRequest): Promise<ArtifactFile[]> {
  const found: { path: string; base: string }[] = [];
  for (const entry of await readdir(path.join(workspace, 'out'), { withFileTypes: true })) {
    if (entry.isFile()) found.push({ path: path.join(workspace, 'out', entry.name), base: entry.name });
  }
  if (request.pipeline.artifacts.length > 0) {
    const match = picomatch(request.pipeline.artifacts as string[], { dot: false });
    const buildDir = path.join(workspace, 'build');
    for (const entry of await readdir(buildDir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const abs = path.join(entry.parentPath, entry.name);
      if (match(path.relative(buildDir, abs))) found.push({ path: abs, base: entry.name });
    }
  }
  return assignArtifacts(found, request.packages, request.version);
}

/**
 * Assigns artifact files to packages: a file belongs to the package whose
 * `<name>-<version>` its name starts with (the longest such name). A recipe that
 * produces one package may name its single artifact freely; it is stored as
 * `<name>-<version>-<file>` so that repo file names always carry the version.
 */
export function assignArtifacts(found: readonly { path: string; base: string }[], packages: readonly string[], version: string): ArtifactFile[] {
  if (found.length === 0) throw new Error(`the build produced no artifact: put package files in $BUILDFLEET_OUT or list them in the pipeline's artifacts`);
  const names = [...new Set(found.map((f) => f.base))];
  if (names.length !== found.length) throw new Error(`two artifacts have the same file name; give each a name of its own`);
  const byLength = [...packages].sort((a, b) => b.length - a.length);
  const result: ArtifactFile[] = [];
  const unassigned: string[] = [];
  for (const f of found) {
    const owner = byLength.find((p) => f.base.startsWith(`${p}-${version}`) || f.base.startsWith(`${p}-${version.replace(/^\d+:/, '')}`));
    if (owner !== undefined) result.push({ name: owner, file: f.base, path: f.path });
    else unassigned.push(f.base);
  }
  if (packages.length === 1 && found.length === 1 && unassigned.length === 1) {
    const only = found[0]!;
    return [{ name: packages[0]!, file: `${packages[0]}-${version.replace(/:/g, '_')}-${only.base}`, path: only.path }];
  }
  if (unassigned.length > 0) {
    throw new Error(`artifacts ${unassigned.join(', ')} belong to no package: name each file <package>-${version}… (packages: ${packages.join(', ')})`);
  }
  const missing = packages.filter((p) => !result.some((a) => a.name === p));
  if (missing.length > 0) throw new Error(`the build produced no artifact for ${missing.join(', ')}`);
  const signatures = result.filter((a) => a.file.endsWith('.sig'));
  if (signatures.length > 0) {
    throw new Error(`${signatures.map((a) => a.file).join(', ')}: the build signed its packages; build them unsigned (makepkg --nosign) and give the repo \`sign:\`, which signs on the machine that publishes`);
  }
  const extra = packages.filter((p) => result.filter((a) => a.name === p).length > 1);
  if (extra.length > 0) throw new Error(`several artifacts for ${extra.join(', ')}: a package is one file`);
  return result;
}
