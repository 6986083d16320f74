/**
 * `reconcile`: compute the plan (or take a saved one that still matches), build
 * what is stale across the hosts in dependency order — keeping going past
 * failures — publish the results atomically, and record every outcome in the
 * ledger. Finished builds are kept by fingerprint until published, so a run
 * killed at any point is finished by the next one without building again.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { hasErrors, type Diagnostic } from '../config/diagnostic.js';
import type { Config, HostConfig } from '../config/types.js';
import { ArtifactCache, type CachedBuild } from '../execute/artifactCache.js';
import { writeFileAtomic } from '../execute/fsUtil.js';
import { localHasCommand, localHostCheck } from '../execute/hostCommands.js';
import { cleanStaleWorkspaces } from '../execute/staleWorkspaces.js';
import { removeStaleBuildCgroups } from '../execute/buildCgroups.js';
import { LocalShell, LocalTransport } from '../execute/localTransport.js';
import { checkPrerequisites } from '../execute/prerequisiteCheck.js';
import { PrerequisiteRoots } from '../execute/prerequisiteRoots.js';
import { SshTransport, workspaceOwner, type RemoteCleanup } from '../execute/ssh/sshTransport.js';
import type { ArtifactFile, BuildResult, Transport } from '../execute/transport.js';
import type { RecipeId } from '../model/types.js';
import { appendLedger, LEDGER_FORMAT_VERSION, type BuildRecord } from '../observe/ledger.js';
import { signaturesMissing } from '../observe/pacmanRepo.js';
import type { BuildAction, Plan, SavedPlan } from '../plan/types.js';
import { stagedDir, type StagedBuild } from '../observe/staging.js';
import { checkSigningKeys, publishBranch, type PublishedEvent } from '../publish/publishBranch.js';
import { removeStaged, stageBuild } from '../publish/staging.js';
import type { PackageToPublish } from '../publish/plainRepo.js';
import { Scheduler, type ScheduleHost, type ScheduleJob } from '../schedule/index.js';
import { hostDownReason, hostOutcomes, warmUp } from './hostFailures.js';
import { LoadGate } from './loadGate.js';
import { nextHostState, quarantinedHosts, readHostState, writeHostState } from './hostState.js';
import { describeViolation } from '../plan/guards.js';
import { configRepositoryState } from '../sources/configRepository.js';
import { acquireLock, type LockHolder } from './lock.js';
import { RunReportWriter } from './runReport.js';
import { checkSavedPlan } from './savedPlan.js';
import { planBranches, type BranchState } from './planBranches.js';
import { regenerateIndex } from '../sources/freebsdIndexCommand.js';
import { RUN_FORMAT_VERSION, RUNS_DIR, type BranchResult, type PackageResult, type RunResult } from './runResult.js';

/** How the caller stops a run: first no new builds, then the running ones. */
export interface StopSignals {
  /** Aborted: start nothing new. */
  readonly noNewBuilds: AbortSignal;
  /** Aborted: stop running builds (SIGTERM, then SIGKILL after the grace period). */
  readonly stopBuilds: AbortSignal;
  /** Aborted: SIGKILL running builds now. */
  readonly killBuilds: AbortSignal;
}

/** What a run reports as it goes (progress display, structured logs). */
export interface RunEvents {
  planned?(plan: Plan, runId: string): void;
  buildStarted?(event: { branch: string; package: string; version: string; host: string }): void;
  buildFinished?(event: { branch: string; result: PackageResult }): void;
  published?(event: PublishedEvent): void;
  warning?(message: string): void;
  /** Something worth a log line that is not a problem (prerequisite uploads, …), with structured data. */
  note?(message: string, data?: Record<string, unknown>): void;
}

export interface ReconcileOptions {
  readonly config: Config;
  readonly stateDir: string;
  readonly branches?: readonly string[];
  /** Apply exactly this saved plan (refused when the state changed since). */
  readonly savedPlan?: SavedPlan;
  readonly retryFailed?: boolean;
  readonly keepFailedWorkspaces?: boolean;
  /** Seconds between SIGTERM and SIGKILL when stopping a build (default 10). */
  readonly graceSeconds?: number;
  /** Seconds an afterPublish hook may run (default: each repo's `hooks.timeout`). */
  readonly hookTimeoutSeconds?: number;
  readonly stop: StopSignals;
  readonly events?: RunEvents;
  /** The environment builds and hooks inherit (already filtered of secrets). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Where SSH transports read SSH_AUTH_SOCK and the passphrase variables (default: none). */
  readonly sshEnv?: Readonly<Record<string, string | undefined>>;
  /** Apply a plan that goes over a branch's guards (maxBuilds, maxRemovePercent). */
  readonly allowLarge?: boolean;
}

export type ReconcileOutcome =
  | { readonly kind: 'error'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'locked'; readonly holder: LockHolder | null }
  | { readonly kind: 'done'; readonly result: RunResult; readonly failed: boolean; readonly diagnostics: readonly Diagnostic[] };

/** Skip reasons that make the run exit 3 (some desired package could not be built). */
const NOT_BUILDABLE: ReadonlySet<string> = new Set(['invalid-recipe', 'dependency-failed', 'failed-unchanged', 'unresolvable', 'dependency-cycle']);

/** The scheduler label of hosts able to run overlay-isolated builds. */
const OVERLAY_LABEL = 'isolation:overlay';

/** The scheduler label of hosts that have a command a pipeline `requires` (local: on this machine's PATH; ssh: assumed). */
const COMMAND_LABEL = 'command:';

function commandLabels(host: HostConfig, config: Config, stateDir: string, used: ReadonlySet<string>): string[] {
  const required = new Set([...config.pipelines.values()].flatMap((p) => p.requires ?? []));
  const checked = [...config.pipelines.values()].filter((p) => p.hostCheck !== undefined && used.has(p.name));
  return [
    ...[...required].filter((c) => host.transport !== 'local' || localHasCommand(c)).map((c) => `${COMMAND_LABEL}${c}`),
    // Hosts that pass a pipeline's hostCheck (local: run here, once per process; ssh: assumed).
    ...checked.filter((p) => host.transport !== 'local' || localHostCheck(p.hostCheck!, { configDir: config.dir, stateDir }).ok).map((p) => `${CHECK_LABEL}${p.name}`),
  ];
}

/** The scheduler label of hosts that pass a pipeline's `hostCheck`. */
const CHECK_LABEL = 'check:';

/** A build lost to host faults this many times in one run counts as failed for the run (retried next run). */
const MAX_LOST_PER_RUN = 2;

interface Job {
  readonly id: string;
  readonly branch: BranchState;
  readonly action: BuildAction;
  lost: number;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileOutcome> {
  const lock = await acquireLock(options.stateDir, 'reconcile');
  if (!lock.ok) return { kind: 'locked', holder: lock.holder };
  try {
    if (lock.tookOver !== undefined) options.events?.warning?.(`took over the lock of a dead run (pid ${lock.tookOver.pid}, started ${lock.tookOver.startedAt})`);
    return await reconcileLocked(options);
  } finally {
    await lock.release();
  }
}

async function reconcileLocked(options: ReconcileOptions): Promise<ReconcileOutcome> {
  const { config, stateDir } = options;
  const branches = options.savedPlan !== undefined ? options.savedPlan.branches.map((b) => b.name) : options.branches;
  // A saved plan is applied with the options it was made with.
  const retryFailed = options.savedPlan?.options?.retryFailed ?? options.retryFailed ?? false;
  // FreeBSD INDEX sources with an indexCommand: regenerate the INDEX first (plan never does).
  for (const branch of config.branches) {
    if (branches !== undefined && branches.length > 0 && !branches.includes(branch.name)) continue;
    const failure = await regenerateIndex(branch, { stateDir, baseEnv: options.baseEnv, signal: options.stop.noNewBuilds });
    if (failure !== null) return { kind: 'error', diagnostics: [failure] };
  }
  const outcome = await planBranches({ config, stateDir, ...(branches !== undefined ? { branches } : {}), retryFailed });
  if (outcome.plan === null) return { kind: 'error', diagnostics: outcome.diagnostics };
  if (options.savedPlan !== undefined) {
    const refusal = checkSavedPlan(options.savedPlan, outcome.plan, outcome.stateDigest);
    if (refusal !== null) return { kind: 'error', diagnostics: [refusal] };
  }
  if (options.allowLarge !== true) {
    const refusals = guardRefusals(outcome.branches);
    if (refusals.length > 0) return { kind: 'error', diagnostics: [...outcome.diagnostics.filter((d) => d.severity === 'warning'), ...refusals] };
  }
  const configRepository = await configRepositoryState(config.dir, stateDir);
  const checkouts = outcome.branches.flatMap((b) => (b.source.checkoutDir !== undefined ? [b.source.checkoutDir] : []));
  if (checkouts.length > 0) await (await import('../sources/gitSource.js')).pruneGitTrees(stateDir, checkouts);

  // Prerequisites are verified locally (digest, entries that stay inside the root) before anything is built or uploaded.
  const building = new Set(outcome.branches.filter((b) => b.plan.actions.some((a) => a.type === 'build')).map((b) => b.config.name as string));
  const checked = await checkPrerequisites({ configDir: config.dir, stateDir, branches: outcome.branches.map((b) => b.config), entries: (name) => building.has(name), save: true });
  if (hasErrors(checked.diagnostics)) return { kind: 'error', diagnostics: [...outcome.diagnostics, ...checked.diagnostics] };
  // The keys of signed repos that this run publishes into sign now, not after the builds.
  const publishing = outcome.branches
    .filter((b) => b.plan.actions.some((a) => a.type === 'build' || a.type === 'remove') || b.config.repos.some(signaturesMissing))
    .map((b) => b.config);
  const signing = await checkSigningKeys(config.dir, publishing);
  if (signing.length > 0) return { kind: 'error', diagnostics: [...outcome.diagnostics, ...signing] };

  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  const startedAt = new Date().toISOString();
  options.events?.planned?.(outcome.plan, runId);
  const report = new RunReportWriter({ stateDir, runsDir: RUNS_DIR, runId, startedAt, branches: outcome.branches, onError: (m) => options.events?.warning?.(m) });

  // Hosts and their transports; quarantined hosts get no builds. SSH hosts connect now, in the background.
  const hostState = readHostState(stateDir);
  const quarantined = quarantinedHosts(config, hostState, new Date());
  const transports = new Map<string, Transport>();
  const owner = workspaceOwner(stateDir);
  // Hosts that support overlay isolation carry a label no user label can be (':' is not allowed there).
  const scheduleHosts: ScheduleHost[] = config.hosts.map((h) => ({
    name: h.name,
    power: h.power,
    labels: [...(outcome.isolation.get(h.name)?.overlay === true ? [...h.labels, OVERLAY_LABEL] : h.labels), ...commandLabels(h, config, stateDir, new Set(outcome.branches.map((b) => b.config.pipeline)))],
    up: !quarantined.has(h.name),
    ...(h.maxLoad !== undefined ? { maxLoad: h.maxLoad } : {}),
  }));
  for (const host of config.hosts) {
    // Quarantined: planBranches warned about it.
    if (quarantined.has(host.name)) continue;
    // The isolation probe's answer (hosts of branches that need isolation): the launcher and cgroups of isolated builds.
    const isolation = outcome.isolation.get(host.name);
    if (host.transport === 'local') {
      transports.set(host.name, new LocalTransport({ host, stateDir, baseEnv: options.baseEnv, ...(isolation !== undefined ? { isolation } : {}) }));
    } else {
      // Workspaces an earlier run of this state directory left on the host are cleaned before its first build.
      const workspaces = {
        owner,
        runId,
        report: (c: RemoteCleanup) =>
          options.events?.warning?.(`host ${host.name}: removed ${c.removed.length} workspace(s) left by a run that died${c.killed.length > 0 ? `, and killed ${c.killed.length} process(es) still running in them` : ''}`),
      };
      transports.set(host.name, new SshTransport({ host, stateDir, baseEnv: options.baseEnv, sshEnv: options.sshEnv ?? {}, workspaces, ...(isolation !== undefined ? { isolation } : {}) }));
    }
  }
  const hostsFailed = new Map<string, string>();
  const warming = warmUp(transports.values());

  // We hold the lock: any workspace left is from a run that died; stop what still runs there.
  for (const branch of outcome.branches) {
    const cleanup = await cleanStaleWorkspaces(path.join(stateDir, branch.config.name, 'work'));
    if (cleanup.removed.length > 0) {
      options.events?.warning?.(
        `removed ${cleanup.removed.length} workspace(s) left by a run that died${cleanup.killed.length > 0 ? `, and killed ${cleanup.killed.length} process(es) still running in them` : ''}`,
      );
      // And their build cgroups, where this machine gives builds cgroups.
      const local = outcome.isolation.get(config.hosts.find((h) => h.transport === 'local')?.name ?? '');
      if (local?.overlay === true && local.cgroups.length > 0) await removeStaleBuildCgroups(new LocalShell(), cleanup.removed.map((d) => path.basename(d)));
    }
  }

  const jobs = new Map<string, Job>();
  const scheduleJobs: ScheduleJob[] = [];
  for (const branch of outcome.branches) {
    for (const action of branch.plan.actions) {
      if (action.type !== 'build') continue;
      const id = `${branch.config.name}/${action.package}`;
      jobs.set(id, { id, branch, action, lost: 0 });
      scheduleJobs.push({
        id,
        dependsOn: action.dependsOn.map((d) => `${branch.config.name}/${d}`),
        seconds: branch.observed.history.get(action.package)?.lastSuccessSeconds ?? 60,
        labels: [
          ...(config.pipelines.get(branch.config.pipeline)?.isolation === 'overlay' ? [...branch.config.hostLabels, OVERLAY_LABEL] : branch.config.hostLabels),
          ...(config.pipelines.get(branch.config.pipeline)?.requires ?? []).map((c) => `${COMMAND_LABEL}${c}`),
          ...(config.pipelines.get(branch.config.pipeline)?.hostCheck !== undefined ? [`${CHECK_LABEL}${branch.config.pipeline}`] : []),
        ],
        // Branches share the hosts fairly: equal slots while each has ready builds.
        share: branch.config.name,
      });
    }
  }
  const scheduler = new Scheduler(scheduleJobs, scheduleHosts);
  // Hosts with a maxLoad are full while their load is above it (read before builds are handed out).
  const loadGate = new LoadGate(scheduler, config.hosts, transports, { isUp: (h) => !hostsFailed.has(h), note: (m, data) => options.events?.note?.(m, data) });
  const roots = new PrerequisiteRoots({ stateDir, runId, roots: checked.roots, note: (m) => options.events?.note?.(m) });
  const caches = new Map(outcome.branches.map((b) => [b.config.name, new ArtifactCache(path.join(stateDir, b.config.name, 'artifacts'))]));
  const finished = new Map<string, { result: PackageResult; cached?: CachedBuild }>();
  const abortedIds = new Set<string>();

  // Work that need not hold a build slot (workspace removal, ledger lines); awaited before publishing.
  const background = new BackgroundWork();
  let ledgerChain: Promise<void> = Promise.resolve();
  const runJob = async (job: Job, hostName: string): Promise<{ job: Job; status: BuildResult['status']; result: PackageResult; cached?: CachedBuild; hostUnusable?: boolean; neverStarted?: boolean; hostDown?: string }> => {
    const branchName = job.branch.config.name;
    const cache = caches.get(branchName)!;
    const { action } = job;
    const logFile = path.join(stateDir, branchName, 'logs', `${action.package}-${action.version}.log`);
    const earlier = await cache.lookup(action.fingerprint);
    if (earlier !== undefined) {
      // Finished by a run that died before recording it: record it now, so that later plans know its inputs.
      if (job.branch.observed.history.get(action.package)?.builtInputs.has(action.fingerprint) !== true) {
        await appendLedger(stateDir, [buildRecord(job, runId, configRepository, { at: earlier.builtAt, status: 'built', host: earlier.host, seconds: earlier.seconds, log: earlier.log })]);
      }
      return { job, status: 'built', cached: earlier, result: { package: action.package, version: action.version, status: 'built', host: earlier.host, seconds: earlier.seconds, log: earlier.log, cached: true, repo: action.repo } };
    }
    const transport = transports.get(hostName)!;
    // The branch's root on this host, installed before the host's first build of the branch.
    const root = roots.needsRoot(branchName) ? await roots.ensure(transport, branchName) : undefined;
    if (root?.ok === false) {
      // An SSH host that cannot be reached is down for the run, not only unusable for this branch.
      const down = await hostDownReason(transport);
      if (down !== undefined) return { job, status: 'lost', neverStarted: true, hostDown: down, result: { package: action.package, version: action.version, status: 'failed', host: hostName, phase: 'connect', detail: root.message } };
    }
    if (root?.ok === false) return { job, status: 'lost', hostUnusable: true, result: { package: action.package, version: action.version, status: 'failed', host: hostName, phase: 'prepare', detail: root.message } };
    const buildStartedAt = new Date().toISOString();
    options.events?.buildStarted?.({ branch: branchName, package: action.package, version: action.version, host: hostName });
    report.started({ branch: branchName, package: action.package, version: action.version, host: hostName });
    const build = await transport.build({
      runId,
      branch: branchName,
      recipeId: action.package,
      packages: action.packages,
      version: action.version,
      fingerprint: action.fingerprint,
      recipeDir: job.branch.graph.recipes.get(action.package as RecipeId)!.dir,
      pipeline: config.pipelines.get(job.branch.config.pipeline)!,
      deps: await dependencyArtifacts(job, finished, caches, stateDir),
      logFile,
      signal: options.stop.stopBuilds,
      killSignal: options.stop.killBuilds,
      graceSeconds: options.graceSeconds ?? 10,
      keepFailedWorkspace: options.keepFailedWorkspaces ?? false,
      ...(root?.ok === true ? { root: root.root } : {}),
    });
    let cached: CachedBuild | undefined;
    let status = build.status;
    let message = build.message;
    // A lost build may mean a lost host: down for the rest of the run unless it can be reached again.
    const hostDown = status === 'lost' ? await hostDownReason(transport) : undefined;
    if (build.status === 'built') {
      try {
        cached = await cache.store(
          { branch: branchName, recipe: action.package, version: action.version, fingerprint: action.fingerprint, host: hostName, seconds: build.seconds, log: logFile, builtAt: new Date().toISOString() },
          build.artifacts,
        );
      } catch (error) {
        status = 'lost';
        message = `could not store the artifacts: ${(error as Error).message}`;
      }
    }
    // Off the slot's critical path: the workspace goes while the next build starts.
    background.add(build.release());
    const record = buildRecord(job, runId, configRepository, {
      at: new Date().toISOString(),
      status,
      host: hostName,
      seconds: build.seconds,
      log: logFile,
      ...(build.phase !== undefined ? { phase: build.phase } : {}),
    });
    // Recorded in order, off the slot's critical path: the artifacts are already stored by
    // fingerprint, and a build found in the cache without its ledger line is recorded then.
    background.add(
      (ledgerChain = ledgerChain.then(async () => {
        await appendLedger(stateDir, [record]);
        if (status === 'failed') {
          // errors/ mirrors logs/ (a FreeBSD origin's log is logs/<category>/<port>-<version>.log).
          const errorCopy = path.join(stateDir, branchName, 'errors', path.relative(path.join(stateDir, branchName, 'logs'), logFile));
          await mkdir(path.dirname(errorCopy), { recursive: true });
          await copyFile(logFile, errorCopy).catch(() => undefined);
        }
      })),
    );
    const result: PackageResult = {
      package: action.package,
      version: action.version,
      status: status === 'built' ? 'built' : status === 'aborted' ? 'skipped' : 'failed',
      host: hostName,
      seconds: build.seconds,
      startedAt: buildStartedAt,
      finishedAt: new Date().toISOString(),
      log: logFile,
      repo: action.repo,
      ...(status === 'aborted' ? { reason: 'aborted', detail: 'the run was interrupted' } : {}),
      ...(build.phase !== undefined && status !== 'built' ? { phase: build.phase } : {}),
      ...(message !== undefined && status !== 'built' ? { detail: message } : {}),
      ...(status === 'failed' || status === 'lost' ? { tail: build.tail.slice(-15) } : {}),
    };
    return { job, status, result, ...(cached !== undefined ? { cached } : {}), ...(build.phase === 'connect' ? { neverStarted: true } : {}), ...(hostDown !== undefined ? { hostDown } : {}) };
  };

  // The main loop: fill free slots, wait for any build to end, repeat.
  const running = new Map<string, Promise<Awaited<ReturnType<typeof runJob>>>>();
  for (;;) {
    if (!options.stop.noNewBuilds.aborted) {
      await loadGate.update();
      for (const assignment of scheduler.nextAssignments()) {
        const job = jobs.get(assignment.jobId)!;
        scheduler.started(job.id, assignment.host);
        running.set(
          job.id,
          runJob(job, assignment.host).catch((error: unknown) => ({
            job,
            status: 'lost' as const,
            result: { package: job.action.package, version: job.action.version, status: 'failed' as const, host: assignment.host, detail: `internal error: ${(error as Error).message}`, phase: 'prepare' },
          })),
        );
      }
    }
    // Work waits for a host's load to drop: look again after the load interval (or when a build ends).
    const recheck = options.stop.noNewBuilds.aborted ? undefined : loadGate.recheckDelay();
    if (running.size === 0 && recheck === undefined) break;
    if (running.size === 0) loadGate.announceWait();
    const timer = recheck !== undefined ? abortableDelay(recheck, options.stop.noNewBuilds) : undefined;
    const done = await Promise.race([...running.values(), ...(timer !== undefined ? [timer.done] : [])]);
    timer?.cancel();
    if (done === undefined) continue;
    running.delete(done.job.id);
    if (done.hostUnusable === true) {
      // Not the package's fault: the host is unusable for this branch for the run; its builds go elsewhere.
      options.events?.warning?.(`${done.result.detail ?? ''}; the branch's builds go to other hosts in this run`);
      scheduler.excludeHost(done.result.host!, [...jobs.values()].filter((j) => j.branch === done.job.branch).map((j) => j.id));
      scheduler.finished(done.job.id, 'lost');
      continue;
    }
    const doneHost = done.result.host;
    if (done.hostDown !== undefined && doneHost !== undefined && !hostsFailed.has(doneHost)) {
      hostsFailed.set(doneHost, done.hostDown);
      scheduler.setHostUp(doneHost, false);
      options.events?.warning?.(`host ${doneHost} is down for this run: ${done.hostDown}; its builds go to other hosts`);
    }
    // A build that never reached its host is not held against it.
    if (done.status === 'lost' && (done.neverStarted === true || done.job.lost + 1 < MAX_LOST_PER_RUN) && !options.stop.noNewBuilds.aborted) {
      if (done.neverStarted !== true) done.job.lost++;
      options.events?.warning?.(`${done.job.id}: ${done.result.detail ?? 'lost'}; trying again`);
      scheduler.finished(done.job.id, 'lost');
      continue;
    }
    if (done.status === 'aborted') abortedIds.add(done.job.id);
    scheduler.finished(done.job.id, done.status === 'built' ? 'ok' : 'failed');
    finished.set(done.job.id, { result: done.result, ...(done.cached !== undefined ? { cached: done.cached } : {}) });
    options.events?.buildFinished?.({ branch: done.job.branch.config.name, result: done.result });
    report.finished({ branch: done.job.branch.config.name, result: done.result });
  }

  await background.settle();
  await roots.settle();
  if (roots.stats.uploads + roots.stats.extractions + roots.stats.removals > 0) {
    const st = roots.stats;
    options.events?.note?.(`prerequisites: ${st.uploads} upload(s) (${st.uploadedBytes} bytes), ${st.extractions} root(s) extracted, ${st.removals} old path(s) removed`, { event: 'prerequisites', ...st });
  }

  // Everything that did not run, and why.
  const blockedBy = new Map(scheduler.blocked().map((b) => [b.jobId, b]));
  const unschedulable = new Set(scheduler.unschedulable());
  const interrupted = options.stop.noNewBuilds.aborted;
  const branchResults: BranchResult[] = [];
  let failed = false;
  for (const branch of outcome.branches) {
    const name = branch.config.name;
    const results: PackageResult[] = [];
    const errors: string[] = [];
    const toPublish = new Map<string, PackageToPublish[]>();
    /** Builds of this branch staged by this run (recipe → version and fingerprint). */
    const stagedNow = new Map<string, { version: string; fingerprint: string }>();
    for (const action of branch.plan.actions) {
      if (action.type === 'skip') {
        results.push({ package: action.package, ...(action.version !== undefined ? { version: action.version } : {}), status: 'skipped', reason: action.reason, ...(action.detail !== undefined ? { detail: action.detail } : {}) });
        continue;
      }
      if (action.type === 'remove') continue;
      const id = `${name}/${action.package}`;
      const done = finished.get(id);
      if (done !== undefined) {
        if (done.cached !== undefined) {
          const recipe = branch.graph.recipes.get(action.package as RecipeId)!;
          const cache = caches.get(name)!;
          const list: PackageToPublish[] = done.cached.packages.map((pkg) => ({
            entry: {
              name: pkg.name,
              version: action.version,
              file: pkg.file,
              sha256: pkg.sha256,
              size: pkg.size,
              depends: [...recipe.depends],
              provides: [...recipe.provides],
              fingerprint: action.fingerprint,
              recipe: action.package,
              ...(recipe.description !== undefined ? { description: recipe.description } : {}),
            },
            source: cache.filePath(action.fingerprint, pkg.file),
          }));
          if (action.review !== undefined) {
            // Reviewed by hand: into the staging area, not the repo.
            try {
              await stageBuild({
                stateDir,
                cached: done.cached,
                files: new Map(list.map((p) => [p.entry.file, p.source])),
                build: {
                  repo: action.repo,
                  runId,
                  reason: action.reason,
                  ...(action.detail !== undefined ? { detail: action.detail } : {}),
                  ...(action.changes !== undefined ? { changes: action.changes } : {}),
                  review: action.review,
                  entries: list.map((p) => p.entry),
                  builtAgainst: unreviewedDependencies(branch, action, stagedNow),
                },
              });
              stagedNow.set(action.package, { version: action.version, fingerprint: action.fingerprint });
              await appendLedger(stateDir, [{ formatVersion: LEDGER_FORMAT_VERSION, kind: 'staged', at: new Date().toISOString(), runId, branch: name, recipe: action.package, version: action.version, fingerprint: action.fingerprint, repo: action.repo }]);
              results.push({ ...done.result, status: 'staged', detail: action.review });
            } catch (error) {
              failed = true;
              errors.push(`staging ${action.package} ${action.version} for review failed: ${(error as Error).message}; the build is kept for the next run`);
              results.push(done.result);
            }
            continue;
          }
          toPublish.set(action.repo, [...(toPublish.get(action.repo) ?? []), ...list]);
        }
        results.push(done.result);
        if (done.result.status === 'failed') failed = true;
        continue;
      }
      const blocked = blockedBy.get(id);
      if (blocked !== undefined) {
        const cause = blocked.cause.slice(name.length + 1);
        const byInterruption = abortedIds.has(blocked.cause);
        results.push({ package: action.package, version: action.version, status: 'skipped', reason: byInterruption ? 'aborted' : blocked.reason, detail: cause });
      } else if (unschedulable.has(id)) {
        const noRoot = roots.failures(name);
        const detail = noRoot.length > 0 ? `no host could install the prerequisites: ${noRoot.join('; ')}` : `no up host has the labels ${branch.config.hostLabels.join(', ') || '(any)'}`;
        results.push({ package: action.package, version: action.version, status: 'skipped', reason: 'no-eligible-host', detail });
        failed = true;
      } else {
        results.push({ package: action.package, version: action.version, status: 'skipped', reason: 'aborted', detail: 'the run was interrupted before it started' });
      }
    }
    // Not everything desired could be built: a failure remembered from an earlier run counts like one of this run.
    if (results.some((r) => r.status === 'skipped' && r.reason !== undefined && NOT_BUILDABLE.has(r.reason))) failed = true;

    // Staged builds nobody can review any more: their recipe left the source, or they were published (an approval cut short).
    for (const [recipe, staged] of branch.observed.staged ?? []) {
      const published = [...branch.observed.repos.values()].some((r) => [...r.entries.values()].some((e) => (e.recipe ?? e.name) === recipe && e.fingerprint === staged.fingerprint));
      if ((!branch.graph.recipes.has(recipe as RecipeId) && !branch.graph.deps.has(recipe as RecipeId)) || published) await removeStaged(stateDir, name, recipe);
    }

    // Publish: one index update per repo, then hooks; builds not published stay in the artifact cache.
    const publishing = await publishBranch({
      branch: name,
      repos: branch.config.repos,
      configDir: config.dir,
      stateDir,
      runId,
      add: toPublish,
      remove: interrupted ? [] : branch.plan.actions.filter((a) => a.type === 'remove'),
      cache: caches.get(name)!,
      // Staged builds left the cache; everything else planned and not published stays for the next run.
      planned: branch.plan.actions.flatMap((a) => (a.type === 'build' && stagedNow.get(a.package)?.fingerprint !== a.fingerprint ? [a.fingerprint] : [])),
      baseEnv: options.baseEnv,
      ...(options.hookTimeoutSeconds !== undefined ? { hookTimeoutSeconds: options.hookTimeoutSeconds } : {}),
      onPublished: (event) => options.events?.published?.(event),
    });
    results.push(...publishing.removed);
    errors.push(...publishing.errors);
    if (publishing.errors.length > 0) failed = true;
    branchResults.push({ name, results, errors });
  }
  if (interrupted) failed = true;

  const result: RunResult = {
    formatVersion: RUN_FORMAT_VERSION,
    runId,
    startedAt,
    finishedAt: new Date().toISOString(),
    interrupted,
    ...(configRepository !== null ? { config: configRepository } : {}),
    branches: branchResults,
  };
  await saveRunResult(stateDir, result);
  await report.finish(result);
  // Host health for quarantine: every SSH host was tried at the start of the run.
  await warming;
  const hostRun = hostOutcomes(transports.values(), hostsFailed);
  for (const t of transports.values()) await t.close();
  if (hostRun.failed.size > 0 || hostRun.worked.size > 0) {
    await writeHostState(stateDir, nextHostState(config, hostState, { runId, now: new Date(), ...hostRun }));
  }
  return { kind: 'done', result, failed, diagnostics: outcome.diagnostics };
}


/** The ledger line of a build attempt; a successful one carries the fingerprint's inputs. */
function buildRecord(
  job: Job,
  runId: string,
  configRepository: { commit: string; dirty: boolean } | null,
  outcome: Pick<BuildRecord, 'at' | 'status' | 'host' | 'seconds' | 'log' | 'phase'>,
): BuildRecord {
  const { action } = job;
  const inputs = outcome.status === 'built' ? job.branch.fingerprints.get(action.package as RecipeId)?.inputs : undefined;
  return {
    formatVersion: LEDGER_FORMAT_VERSION,
    kind: 'build',
    runId,
    branch: job.branch.config.name,
    recipe: action.package,
    packages: action.packages,
    version: action.version,
    fingerprint: action.fingerprint,
    ...outcome,
    ...(inputs !== undefined ? { inputs } : {}),
    ...(job.branch.source.commit !== undefined ? { sourceCommit: job.branch.source.commit } : {}),
    ...(configRepository !== null ? { configCommit: configRepository.commit, ...(configRepository.dirty ? { configDirty: true as const } : {}) } : {}),
  };
}

/** One located error per branch whose plan goes over its guards. */
function guardRefusals(branches: readonly BranchState[]): Diagnostic[] {
  return branches.flatMap((b) =>
    (b.plan.guardViolations ?? []).map((v) => ({
      severity: 'error' as const,
      file: b.config.file,
      message: `the plan of branch ${b.config.name} ${describeViolation(v)}; not applied`,
      hint: 'check the plan (`buildfleet plan`); if it is what you want, run reconcile with --allow-large, or raise the limit under `guards:` in the branch file',
    })),
  );
}

/** Resolves (undefined) after `ms`, or at once when `signal` aborts; `cancel` clears the timer. */
function abortableDelay(ms: number, signal: AbortSignal): { done: Promise<undefined>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const done = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    timer = setTimeout(onAbort, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    done,
    cancel: () => {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    },
  };
}

/** Promises to wait for later; the first failure is rethrown by `settle`. */
class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  add(work: Promise<unknown>): void {
    this.pending.add(work);
    // Observed here so that a failure is not unhandled before settle() rethrows it.
    work.then(
      () => this.pending.delete(work),
      () => undefined,
    );
  }

  async settle(): Promise<void> {
    await Promise.all(this.pending);
  }
}

async function saveRunResult(stateDir: string, result: RunResult): Promise<void> {
  const dir = path.join(stateDir, RUNS_DIR);
  await mkdir(dir, { recursive: true });
  const text = `${JSON.stringify(result, null, 2)}\n`;
  await writeFileAtomic(path.join(dir, `${result.runId}.json`), text);
  await writeFileAtomic(path.join(dir, 'latest.json'), text);
}

/** Artifacts of every (transitive) dependency: from this run's builds, the artifact cache, or the repo. */
async function dependencyArtifacts(job: Job, finished: ReadonlyMap<string, { cached?: CachedBuild }>, caches: ReadonlyMap<string, ArtifactCache>, stateDir: string): Promise<ArtifactFile[]> {
  const { graph, observed, config, fingerprints } = job.branch;
  const branchName = config.name;
  const cache = caches.get(branchName)!;
  const seen = new Set<RecipeId>();
  const queue: RecipeId[] = [...(graph.deps.get(job.action.package as RecipeId) ?? [])];
  const files: ArtifactFile[] = [];
  while (queue.length > 0) {
    const dep = queue.shift()!;
    if (seen.has(dep)) continue;
    seen.add(dep);
    queue.push(...(graph.deps.get(dep) ?? []));
    const built = finished.get(`${branchName}/${dep}`)?.cached ?? (await cache.lookup(fingerprints.get(dep)?.fingerprint ?? ''));
    if (built !== undefined) {
      for (const pkg of built.packages) files.push({ name: pkg.name, file: pkg.file, path: cache.filePath(built.fingerprint, pkg.file) });
      continue;
    }
    // Awaiting review with the wanted fingerprint (the plan then stages this build too).
    const staged = observed.staged?.get(dep);
    if (staged !== undefined && staged.fingerprint === fingerprints.get(dep)?.fingerprint) {
      for (const entry of staged.entries) files.push({ name: entry.name, file: entry.file, path: path.join(stagedDir(stateDir, branchName, dep), entry.file) });
      continue;
    }
    const recipe = graph.recipes.get(dep);
    for (const name of recipe?.packages ?? []) {
      for (const repo of config.repos) {
        const entry = observed.repos.get(repo.name)?.entries.get(name);
        if (entry !== undefined) {
          files.push({ name, file: entry.file, path: path.join(repo.path, entry.file) });
          break;
        }
      }
    }
  }
  return files;
}

/** Dependencies (transitively) of a build that await review: staged earlier with the wanted fingerprint, or staged by this run. */
function unreviewedDependencies(branch: BranchState, action: BuildAction, stagedNow: ReadonlyMap<string, { version: string; fingerprint: string }>): StagedBuild['builtAgainst'] {
  const out: { recipe: string; version: string; fingerprint: string }[] = [];
  const seen = new Set<RecipeId>();
  const queue: RecipeId[] = [...(branch.graph.deps.get(action.package as RecipeId) ?? [])];
  while (queue.length > 0) {
    const dep = queue.shift()!;
    if (seen.has(dep)) continue;
    seen.add(dep);
    queue.push(...(branch.graph.deps.get(dep) ?? []));
    const now = stagedNow.get(dep);
    const earlier = branch.observed.staged?.get(dep);
    if (now !== undefined) out.push({ recipe: dep, ...now });
    else if (earlier !== undefined && earlier.fingerprint === branch.fingerprints.get(dep)?.fingerprint) out.push({ recipe: dep, version: earlier.version, fingerprint: earlier.fingerprint });
  }
  return out.sort((a, b) => (a.recipe < b.recipe ? -1 : a.recipe > b.recipe ? 1 : 0));
}

export type { HostConfig };
