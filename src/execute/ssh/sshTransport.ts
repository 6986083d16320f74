/**
 * Runs builds on an SSH host, as the local transport does on this machine: a fresh
 * workspace `<workdir>/work/<branch>/<recipe>-<random>/` (build/, deps/, out/, tmp/)
 * filled by one tar stream, the pipeline's steps with the same variables, limits and
 * log file, then the artifacts sent back in one tar stream with the sha256 the host
 * computed, checked here before they are handed over. One {@link SshConnections} per
 * host carries every build of the run as channels.
 *
 * A build that could not reach the host, or whose connection dropped, is `lost`
 * (phase `connect` when it never started on the host); `failed` is only ever the
 * package's fault.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import picomatch from 'picomatch';
import * as tar from 'tar';
import type { HostConfig } from '../../config/types.js';
import { BuildLog, logLimitOf } from '../buildLog.js';
import { assignArtifacts } from '../localTransport.js';
import { BUILD_ID_VARIABLE, stepFailureMessage } from '../runStep.js';
import { workspaceStem, type ArtifactFile, type BuildRequest, type BuildResult, type HostShell, type Transport } from '../transport.js';
import { channelExit, shellCommand, SshConnections, SshError, type ChannelExit } from './connections.js';
import { channelResult, SshShell } from './sshShell.js';
import { CLEAN_STALE, COLLECT, KEEP, LIST_BUILD_FILES, PREPARE, REMOVE, scriptCommand } from './remoteScripts.js';
import { cgroupControllersFor, makeBuildCgroups, removeBuildCgroups, removeStaleBuildCgroups, type BuildCgroups, type CgroupHits } from '../buildCgroups.js';
import { buildStepCommand, workspaceDirs, type IsolationSupport } from '../isolation.js';
import { runRemoteStep } from './remoteStep.js';

/** Default seconds to reach a host (`connectTimeout` in hosts.yaml). */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/** Variables of the local environment passed to remote builds (PATH, HOME, USER… are the host's own). */
const PASSED_TO_HOST = ['LANG', 'LC_ALL', 'TZ'];

export interface SshTransportOptions {
  readonly host: HostConfig;
  /** Local scratch space: `<state>/<branch>/work` holds the tar staging and the fetched artifacts. */
  readonly stateDir: string;
  /** The environment builds inherit (only LANG, LC_ALL and TZ go to the host). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Where SSH_AUTH_SOCK and the passphrase variable are read. */
  readonly sshEnv: Readonly<Record<string, string | undefined>>;
  /** What the isolation probe found on the host (once per run): the launcher and the cgroups of isolated builds. */
  readonly isolation?: IsolationSupport;
  /**
   * Who makes this run's workspaces: they are marked with the owner and run id, and
   * before the host's first build, workspaces the same owner left in another run (a run
   * that died) are cleaned: what still runs in them is killed, they are removed, and
   * `report` is told. Absent: workspaces are not marked and nothing is cleaned.
   */
  readonly workspaces?: { readonly owner: string; readonly runId: string; readonly report: (cleanup: RemoteCleanup) => void };
}

/** What {@link SshTransport.cleanStaleWorkspaces} did on the host. */
export interface RemoteCleanup {
  /** Workspaces removed (paths on the host). */
  readonly removed: readonly string[];
  /** Pids on the host killed because they still worked in one. */
  readonly killed: readonly number[];
}

/**
 * The owner of the workspaces a state directory's runs make on SSH hosts: this
 * machine's name and the state directory's absolute path, hashed. Two controllers (or
 * two state directories) sharing a host's workdir never clean each other's workspaces.
 */
export function workspaceOwner(stateDir: string): string {
  return createHash('sha256').update(`${hostname()}\0${path.resolve(stateDir)}`).digest('hex').slice(0, 16);
}

export class SshTransport implements Transport {
  readonly hostName: string;
  readonly workdir: string;
  readonly shell: HostShell;
  readonly connections: SshConnections;

  constructor(private readonly options: SshTransportOptions) {
    const { host } = options;
    this.hostName = host.name;
    this.workdir = host.workdir;
    this.connections = new SshConnections({ host, env: options.sshEnv, connectTimeoutSeconds: host.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS });
    this.shell = new SshShell(this.connections);
  }

  async close(): Promise<void> {
    await this.connections.close();
  }

  private cleaning: Promise<void> | undefined;

  /**
   * Once per run (again after a failed attempt): kills what still runs in the
   * workspaces an earlier run of the same owner left on the host, and removes them
   * (see CLEAN_STALE). Never throws: a host it cannot reach is found down by the builds.
   */
  cleanStaleWorkspaces(): Promise<void> {
    const spec = this.options.workspaces;
    if (spec === undefined) return Promise.resolve();
    this.cleaning ??= (async () => {
      const done = await this.run(scriptCommand('buildfleet-clean', CLEAN_STALE, [this.workdir, spec.owner, spec.runId]));
      if (done.dropped || done.code !== 0) throw new Error(done.stderr);
      const lines = done.stdout.split('\n');
      const removed = lines.flatMap((l) => (l.startsWith('removed ') ? [l.slice('removed '.length)] : []));
      const killed = lines.flatMap((l) => (/^killed \d+$/.test(l) ? [Number(l.slice('killed '.length))] : []));
      // And their build cgroups, where the host gives builds cgroups (named after the workspace).
      const isolation = this.options.isolation;
      if (isolation?.overlay === true && isolation.cgroups.length > 0) await removeStaleBuildCgroups(this.shell, removed.map((r) => path.posix.basename(r))).catch(() => undefined);
      if (removed.length + killed.length > 0) spec.report({ removed, killed });
    })().catch(() => {
      this.cleaning = undefined;
    });
    return this.cleaning;
  }

  async build(request: BuildRequest): Promise<BuildResult> {
    const started = performance.now();
    const seconds = (): number => Math.round((performance.now() - started) / 10) / 100;
    const log = await BuildLog.open(request.logFile, logLimitOf(request.pipeline));
    log.header(`${request.branch}/${request.recipeId} ${request.version} on ${this.hostName} (run ${request.runId}, fingerprint ${request.fingerprint})`);
    const localRoot = path.join(this.options.stateDir, request.branch, 'work');
    await mkdir(localRoot, { recursive: true });
    const local = await mkdtemp(path.join(localRoot, `${workspaceStem(request.recipeId)}-`));
    const removeLocal = async (): Promise<void> => rm(local, { recursive: true, force: true });
    const workspace = path.posix.join(this.workdir, 'work', request.branch, `${workspaceStem(request.recipeId)}-${randomBytes(4).toString('hex')}`);

    const end = async (status: 'failed' | 'aborted' | 'lost', phase: string, message: string, remote: 'remove' | 'keep' | 'gone'): Promise<BuildResult> => {
      log.line(`buildfleet: ${phase} ${message}`);
      await log.close();
      await removeLocal();
      let keptWorkspace: string | undefined;
      if (remote !== 'gone') {
        const keep = remote === 'keep' && status === 'failed' && request.keepFailedWorkspace;
        const script = keep ? KEEP : REMOVE;
        const args = keep ? [workspace, `kept after the failure of ${request.recipeId} ${request.version} in run ${request.runId}`] : [workspace];
        const done = await this.run(scriptCommand('buildfleet-cleanup', script, args)).catch(() => undefined);
        if (keep && done?.code === 0) keptWorkspace = `${this.hostName}:${workspace}`;
      }
      return { status, phase, message, tail: log.tail(), seconds: seconds(), artifacts: [], ...(keptWorkspace !== undefined ? { keptWorkspace } : {}), release: async () => {} };
    };

    // 1. The workspace: recipe files and dependency artifacts in one tar stream (after what a dead run left is gone).
    await this.cleanStaleWorkspaces();
    try {
      await this.prepare(request, local, workspace);
    } catch (error) {
      const never = error instanceof SshError && error.kind !== 'dropped';
      return end('lost', never ? 'connect' : 'prepare', `could not prepare the workspace on ${this.hostName}: ${(error as Error).message}`, never ? 'gone' : 'remove');
    }

    // 2. The steps.
    const env: Record<string, string> = {
      ...Object.fromEntries(PASSED_TO_HOST.flatMap((k) => (this.options.baseEnv[k] !== undefined ? [[k, this.options.baseEnv[k]]] : []))),
      TMPDIR: `${workspace}/tmp`,
      BUILDFLEET_BRANCH: request.branch,
      BUILDFLEET_PACKAGE: request.recipeId,
      BUILDFLEET_VERSION: request.version,
      BUILDFLEET_OUT: `${workspace}/out`,
      BUILDFLEET_DEPS: `${workspace}/deps`,
      ...(request.root !== undefined ? { BUILDFLEET_ROOT: request.root } : {}),
      // Tags every process of the build: what it leaves running after a step is found and killed by it (STEP).
      [BUILD_ID_VARIABLE]: `${request.runId}.${path.posix.basename(workspace)}`,
    };
    const { isolation, limits } = request.pipeline;
    const support = this.options.isolation?.overlay === true ? this.options.isolation : undefined;
    const controllers = isolation === 'overlay' ? cgroupControllersFor(limits, support?.cgroups ?? []) : [];
    if (isolation === 'overlay' && limits.processes !== undefined && support?.limits.processes === 'unsupported') {
      log.line(`buildfleet: limits.processes is not enforced on ${this.hostName}: builds run as root there, whom the kernel exempts from RLIMIT_NPROC, and it has no pids cgroup for them (docs/ISOLATION.md)`);
    }
    // The build's cgroups on the host: made before its first step, read and removed after its last.
    let cgroups: BuildCgroups | undefined;
    const endCgroups = async (): Promise<CgroupHits | undefined> => {
      if (cgroups === undefined) return undefined;
      const made = cgroups;
      cgroups = undefined;
      const removed = await removeBuildCgroups(this.shell, made).catch((error: Error) => ({ hits: undefined, killed: [], error: error.message }));
      if (removed.error !== undefined) log.line(`buildfleet: ${removed.error}`);
      if (removed.killed.length > 0) log.line(`buildfleet: warning: the build left ${removed.killed.length} process${removed.killed.length === 1 ? '' : 'es'} in its cgroup on ${this.hostName}; killed: ${removed.killed.join(', ')}`);
      return removed.hits;
    };
    if (controllers.length > 0) {
      const made = await makeBuildCgroups(this.shell, path.posix.basename(workspace), controllers, limits).catch((error: Error) => ({ ok: false as const, message: error.message }));
      if (!made.ok) return end('lost', 'prepare', made.message, 'remove');
      cgroups = made.cgroups;
    }
    for (const step of request.pipeline.steps) {
      log.header(`step ${step.name}: ${step.run}`);
      // Isolated steps run the command line of isolation.ts, the same as on a local host.
      const command = buildStepCommand(step, { isolation, workspace, root: request.root, limits, host: support, cgroups });
      if (!command.ok) {
        await endCgroups();
        return end('failed', step.name, command.message, 'remove');
      }
      const outcome = await runRemoteStep({
        connections: this.connections,
        workspace,
        run: isolation === 'none' ? step.run : `exec ${shellCommand(command.command.argv)}`,
        stepName: step.name,
        env: { ...env, ...command.command.env },
        timeoutSeconds: step.timeoutSeconds,
        ...(step.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: step.idleTimeoutSeconds } : {}),
        graceSeconds: request.graceSeconds,
        signal: request.signal,
        ...(request.killSignal !== undefined ? { killSignal: request.killSignal } : {}),
        onOutput: (chunk) => log.write(chunk),
      });
      if (outcome.kind === 'ok') continue;
      const held = cgroups?.controllers ?? [];
      const hits = await endCgroups();
      if (outcome.kind === 'dropped') return end('lost', step.name, outcome.message, 'remove');
      const status = outcome.kind === 'aborted' ? 'aborted' : outcome.kind === 'spawn-error' ? 'lost' : 'failed';
      return end(status, step.name, stepFailureMessage(outcome, log.tail(), isolation, limits, { controllers: held, hits }), 'keep');
    }
    await endCgroups();

    // 3. The artifacts, checked against the host's sha256.
    let artifacts: ArtifactFile[];
    try {
      artifacts = await this.collect(request, local, workspace);
    } catch (error) {
      if (error instanceof SshError || error instanceof TransferError) return end('lost', 'collect', (error).message, 'remove');
      return end('failed', 'collect', (error as Error).message, 'gone');
    }
    log.header(`built in ${seconds()}s: ${artifacts.map((a) => a.file).join(', ')}`);
    await log.close();
    return { status: 'built', tail: log.tail(), seconds: seconds(), artifacts, release: removeLocal };
  }

  /** Runs a command line and collects its output; an unreachable host throws {@link SshError}. */
  private async run(command: string): Promise<{ code: number; stdout: string; stderr: string; dropped: boolean }> {
    const channel = await this.connections.exec(command);
    channel.end();
    return channelResult(channel);
  }

  private async prepare(request: BuildRequest, local: string, workspace: string): Promise<void> {
    // A staging tree of links: tar follows them, nothing is copied locally.
    const staging = path.join(local, 'staging');
    await mkdir(path.join(staging, 'deps'), { recursive: true });
    await Promise.all(['out', 'tmp'].map((d) => mkdir(path.join(staging, d))));
    await symlink(request.recipeDir, path.join(staging, 'build'));
    await Promise.all(request.deps.map((dep) => symlink(dep.path, path.join(staging, 'deps', dep.file))));
    const channel = await this.connections.exec(scriptCommand('buildfleet-prepare', PREPARE, [workspace, this.options.workspaces !== undefined ? `${this.options.workspaces.owner} ${request.runId}` : '', ...workspaceDirs(request.pipeline.isolation)]));
    const result = channelResult(channel);
    const stream = tar.c({ cwd: staging, follow: true, portable: true }, ['build', 'deps', 'out', 'tmp']);
    await pipeline(stream as unknown as NodeJS.ReadableStream, channel).catch(() => undefined);
    const done = await result;
    if (done.dropped) throw new SshError(`the connection to ${this.connections.label} dropped`, 'dropped');
    if (done.code !== 0) throw new TransferError(`the host could not unpack the workspace (exit ${done.code}): ${done.stderr.trim()}`);
  }

  private async collect(request: BuildRequest, local: string, workspace: string): Promise<ArtifactFile[]> {
    const globbed: string[] = [];
    if (request.pipeline.artifacts.length > 0) {
      const listing = await this.run(scriptCommand('buildfleet-list', LIST_BUILD_FILES, [workspace]));
      if (listing.dropped || listing.code !== 0) throw new TransferError(`could not list the build directory on ${this.hostName}: ${listing.stderr.trim()}`);
      const match = picomatch(request.pipeline.artifacts as string[], { dot: false });
      for (const file of listing.stdout.split('\0')) {
        const rel = file.replace(/^\.\//, '');
        if (rel !== '' && match(rel)) globbed.push(`build/${rel}`);
      }
    }
    const fetched = path.join(local, 'fetched');
    await mkdir(fetched);
    const channel = await this.connections.exec(scriptCommand('buildfleet-collect', COLLECT, [workspace, 'remove', ...globbed]));
    channel.end();
    const exit = new Promise<ChannelExit | undefined>((resolve) => channel.once('close', () => resolve(channelExit(channel))));
    const stderr: Buffer[] = [];
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const extracting = pipeline(channel, tar.x({ cwd: fetched, strict: true, preservePaths: false }) as unknown as NodeJS.WritableStream).then(
      () => undefined,
      (error: Error) => error,
    );
    const [status, extractError] = await Promise.all([exit, extracting]);
    if (status === undefined) throw new SshError(`the connection to ${this.connections.label} dropped while the artifacts came back${this.connections.dropReason()}`, 'dropped');
    if (status.code === 3) throw new Error(`the build produced no artifact: put package files in $BUILDFLEET_OUT or list them in the pipeline's artifacts`);
    if (status.code !== 0) throw new TransferError(`could not fetch the artifacts from ${this.hostName} (exit ${status.code}): ${Buffer.concat(stderr).toString('utf8').trim()}`);
    if (extractError !== undefined) throw new TransferError(`could not unpack the artifacts from ${this.hostName}: ${extractError.message}`);

    const sums = parseSha256Sums(await readFile(path.join(fetched, '.buildfleet-sha256'), 'utf8'));
    const found: { path: string; base: string }[] = [];
    for (const { sha256, file } of sums) {
      const abs = path.join(fetched, file);
      const received = await sha256File(abs).catch(() => 'missing');
      if (received !== sha256) throw new TransferError(`artifact ${file} arrived damaged: sha256 on ${this.hostName} ${sha256}, received ${received}`);
      found.push({ path: abs, base: path.posix.basename(file) });
    }
    return assignArtifacts(found, request.packages, request.version);
  }
}

/** The artifacts did not arrive whole: a transport fault (the build is retried), not the package's. */
class TransferError extends Error {}

/** `sha256sum` output lines: `<hex>  <file>` (a leading backslash escapes `\\` and `\n` in the name). */
export function parseSha256Sums(text: string): { sha256: string; file: string }[] {
  const out: { sha256: string; file: string }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const escaped = line.startsWith('\\');
    const match = /^([0-9a-f]{64}) [ *](.*)$/.exec(escaped ? line.slice(1) : line);
    if (match === null) throw new TransferError(`unreadable sha256 list line from the host: ${line}`);
    const file = escaped ? match[2]!.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : match[2]!;
    out.push({ sha256: match[1]!, file });
  }
  return out;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
