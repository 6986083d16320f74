/**
 * The I/O shell around the pure planner: read each branch's source tree, its
 * repos and the ledger, then hand the data to `computeBranchPlan`. Used by
 * `plan`, `validate` and `reconcile`; writes nothing.
 */
import { tmpdir } from 'node:os';
import { hasErrors, sortDiagnostics, type Diagnostic } from '../config/diagnostic.js';
import { displayPath } from '../config/paths.js';
import type { BranchConfig, Config, HostConfig, PipelineConfig } from '../config/types.js';
import { forgetHostChecks, localHasCommand, localHostCheck } from '../execute/hostCommands.js';
import { hashCanonical, sha256Hex } from '../model/canonical.js';
import { computeFingerprints, type FingerprintedRecipe } from '../model/fingerprint.js';
import { buildDependencyGraph, type DependencyGraph } from '../model/graph.js';
import type { RecipeId, SourceSnapshot } from '../model/types.js';
import { readInstalledRoots } from '../observe/installedRoots.js';
import { readLedger, type LedgerSnapshot } from '../observe/ledger.js';
import { readRepoEntries } from '../observe/repo.js';
import { signaturesMissing } from '../observe/pacmanRepo.js';
import { readStaged } from '../observe/staging.js';
import type { ObservedBranch, RepoState } from '../observe/types.js';
import { probeIsolation, type IsolationSupport } from '../execute/isolation.js';
import { computeBranchPlan, recipeDiagnostics, type DependencyLocator } from '../plan/computeBranchPlan.js';
import { planPrerequisites } from '../plan/prerequisitePlan.js';
import { PLAN_FORMAT_VERSION, type BranchPlan, type Plan } from '../plan/types.js';
import type { ScheduleHost } from '../schedule/index.js';
import { locateRecipeDependency } from '../sources/locateDependency.js';
import { readNativeRecipes } from '../sources/nativeRecipes.js';
import { readFreebsdIndex } from '../sources/freebsdIndex.js';
import { readSrcinfoTree } from '../sources/srcinfo.js';
import { quarantinedHosts, readHostState, type Quarantine } from './hostState.js';
import { DEFAULT_VERSION_SCHEME, VERSION_SCHEMES, type VersionComparator } from '../version/schemes.js';

export interface PlanOptions {
  readonly config: Config;
  /** Absolute path of the state directory (ledger, logs). */
  readonly stateDir: string;
  /** Branch names to plan; all when empty or absent. */
  readonly branches?: readonly string[];
  readonly retryFailed?: boolean;
  /**
   * Checks a host for overlay isolation (only hosts of branches whose pipeline needs it are
   * checked, each once). Default: {@link probeHostIsolation}.
   */
  readonly probeIsolation?: (host: HostConfig) => Promise<IsolationSupport>;
}

/** Everything computed for one branch, kept for reconcile. */
export interface BranchState {
  readonly config: BranchConfig;
  readonly source: SourceSnapshot;
  readonly graph: DependencyGraph;
  readonly fingerprints: ReadonlyMap<RecipeId, FingerprintedRecipe>;
  readonly observed: ObservedBranch;
  readonly hosts: readonly HostConfig[];
  readonly plan: BranchPlan;
}

export interface PlanOutcome {
  /** Null when an error stops planning (unreadable repo index, unknown branch, …). */
  readonly plan: Plan | null;
  readonly branches: readonly BranchState[];
  readonly diagnostics: readonly Diagnostic[];
  /** sha256 of the desired state (config + recipes) and of the observed state (repos + ledger). */
  readonly stateDigest: { readonly desired: string; readonly observed: string };
  /** Overlay isolation support of the hosts that were checked (those of branches that need it). */
  readonly isolation: ReadonlyMap<string, IsolationSupport>;
}

/**
 * Checks a host for overlay isolation through its shell. Local hosts are checked in
 * the temporary directory (a dry run leaves the state directory as it was); SSH
 * hosts need the SSH transport, which this version lacks.
 */
export async function probeHostIsolation(host: HostConfig): Promise<IsolationSupport> {
  // Loaded here: most plans probe nothing, and these modules (execa, ssh2) cost start-up time.
  if (host.transport === 'local') {
    const { LocalShell } = await import('../execute/localTransport.js');
    return probeIsolation(new LocalShell(), tmpdir());
  }
  const [{ SshConnections }, { SshShell }, { DEFAULT_CONNECT_TIMEOUT_SECONDS }] = await Promise.all([
    import('../execute/ssh/connections.js'),
    import('../execute/ssh/sshShell.js'),
    import('../execute/ssh/sshTransport.js'),
  ]);
  const connections = new SshConnections({ host, env: {}, connectTimeoutSeconds: host.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS });
  try {
    await connections.connect();
    return await probeIsolation(new SshShell(connections), host.workdir);
  } catch (error) {
    return { overlay: false, reason: `not checked: ${(error as Error).message}` };
  } finally {
    await connections.close();
  }
}


/** Hosts a branch may use (all of its selector's labels), as the scheduler sees them. */
export function eligibleHosts(config: Config, branch: BranchConfig): HostConfig[] {
  return config.hosts.filter((h) => branch.hostLabels.every((l) => h.labels.includes(l)));
}

/**
 * The hosts among `hosts` that have every command the pipeline requires and pass
 * its `hostCheck` (local hosts are checked on this machine; SSH hosts are assumed
 * able), and, when none is left, why.
 */
export function hostsWithCommands(hosts: readonly HostConfig[], pipeline: PipelineConfig, where?: { readonly configDir: string; readonly stateDir: string }): { hosts: HostConfig[]; noneBecause?: string } {
  const requires = pipeline.requires ?? [];
  const check = where !== undefined ? pipeline.hostCheck : undefined;
  if (requires.length === 0 && check === undefined) return { hosts: [...hosts] };
  const missing = new Map<string, string[]>();
  const failed = new Map<string, string>();
  const able = hosts.filter((h) => {
    if (h.transport !== 'local') return true;
    const lacks = requires.filter((c) => !localHasCommand(c));
    if (lacks.length > 0) missing.set(h.name, lacks);
    else if (check !== undefined) {
      const result = localHostCheck(check, where!);
      if (!result.ok) failed.set(h.name, result.reason ?? 'its hostCheck failed');
    }
    return lacks.length === 0 && !failed.has(h.name);
  });
  if (able.length > 0 || hosts.length === 0) return { hosts: able };
  const lacking = [...missing.entries()].map(([host, lacks]) => `${host} lacks ${lacks.join(', ')}`);
  if (failed.size === 0) return { hosts: able, noneBecause: `no host has the commands pipeline ${pipeline.name} requires (${lacking.join('; ')})` };
  const why = [...lacking, ...[...failed.entries()].map(([host, reason]) => `${host}: ${reason}`)].join('; ');
  return { hosts: able, noneBecause: `no host can run pipeline ${pipeline.name} (${why})` };
}

/** When a branch has hosts and every one of them is quarantined: why it has none (the `no-eligible-host` detail). */
export function allQuarantined(hosts: readonly HostConfig[], quarantined: ReadonlyMap<string, Quarantine>): string | undefined {
  if (hosts.length === 0 || !hosts.every((h) => quarantined.has(h.name))) return undefined;
  return `every eligible host is quarantined (${hosts.map((h) => `${h.name} until ${quarantined.get(h.name)!.until}`).join(', ')})`;
}

/** Hosts as the scheduler sees them; quarantined ones are down. */
export function toScheduleHosts(hosts: readonly HostConfig[], quarantined: ReadonlySet<string> = new Set()): ScheduleHost[] {
  return hosts.map((h) => ({ name: h.name, power: h.power, labels: h.labels, up: !quarantined.has(h.name) }));
}

/** A branch's recipes (a path source as it is, a git source at its ref, fetched into `<state>/git/`), and how to find where a recipe names a dependency (for diagnostics). */
export async function readSource(config: Config, branch: BranchConfig, stateDir: string): Promise<SourceSnapshot & { readonly locate: DependencyLocator }> {
  const { source } = branch;
  if (source.kind === 'path' && source.format === 'freebsd-index' && source.index !== undefined) {
    return readFreebsdIndex({
      root: source.path,
      indexFile: source.index.file,
      displayIndex: displayPath(config.dir, source.index.file),
      dudOrigins: new Set(branch.duds.map((d) => d.package)),
    });
  }
  const locate: DependencyLocator = locateRecipeDependency;
  if (source.kind === 'path' && source.format === 'srcinfo') {
    return { ...(await readSrcinfoTree({ root: source.path, displayRoot: displayPath(config.dir, source.path), architecture: branch.architecture })), locate };
  }
  if (source.format !== 'recipe') {
    // The loader refuses other kinds and formats; this is a bug guard.
    throw new Error(`unsupported source ${source.kind}/${source.format}`);
  }
  if (source.kind === 'path') return { ...(await readNativeRecipes({ root: source.path, displayRoot: displayPath(config.dir, source.path) })), locate };
  // Loaded only for git sources: other plans start without simple-git.
  const { readGitSource } = await import('../sources/gitSource.js');
  const snapshot = await readGitSource({ url: source.url, ref: source.ref, subdir: source.subdir, stateDir, displayFile: branch.file }, (tree) => readNativeRecipes(tree));
  return { ...snapshot, locate };
}

/** The version order of a branch's plan: FreeBSD's `pkg version -t` for an INDEX tree, pacman's otherwise (src/version/schemes.ts). */
export function versionComparator(branch: BranchConfig): VersionComparator {
  return VERSION_SCHEMES[branch.source.format === 'freebsd-index' ? 'freebsd' : DEFAULT_VERSION_SCHEME];
}

export function observeBranch(config: Config, branch: BranchConfig, ledger: LedgerSnapshot, stateDir: string): { observed: ObservedBranch; digests: string[]; diagnostics: Diagnostic[] } {
  const repos = new Map<string, RepoState>();
  const digests: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const repo of branch.repos) {
    const index = readRepoEntries(repo, displayPath(config.dir, repo.path));
    diagnostics.push(...index.diagnostics);
    if (index.diagnostics.length === 0 && signaturesMissing(repo)) {
      diagnostics.push({
        severity: 'warning',
        file: repo.file,
        line: repo.position.line,
        col: repo.position.col,
        message: `repo ${repo.name} is signed (sign:), but its database has no signature: reconcile signs it, and every package in it without a signature`,
        hint: 'nothing to do: the next reconcile signs them, even with nothing to build',
      });
    }
    repos.set(repo.name, { name: repo.name, path: repo.path, entries: index.entries });
    digests.push(`${repo.name}:${index.digest}`);
  }
  const { staged, diagnostics: stagingDiagnostics } = readStaged(stateDir, branch.name, displayPath(config.dir, stateDir));
  diagnostics.push(...stagingDiagnostics);
  for (const s of staged.values()) digests.push(`staged:${s.recipe}:${s.fingerprint}`);
  return { observed: { repos, history: ledger.branches.get(branch.name) ?? new Map(), staged }, digests, diagnostics };
}

export async function planBranches(options: PlanOptions): Promise<PlanOutcome> {
  const { config } = options;
  // Each plan checks hosts afresh (watch plans again and again in one process); reconcile reuses this plan's results.
  forgetHostChecks();
  const diagnostics: Diagnostic[] = [];
  const selected = selectBranches(config, options.branches ?? [], diagnostics);
  const selectionFailed = hasErrors(diagnostics);
  const ledger = readLedger(options.stateDir, displayPath(config.dir, options.stateDir));
  diagnostics.push(...ledger.diagnostics);
  const quarantined = quarantinedHosts(config, readHostState(options.stateDir), new Date());
  for (const host of config.hosts) {
    const q = quarantined.get(host.name);
    if (q === undefined) continue;
    diagnostics.push({
      severity: 'warning',
      file: host.file,
      line: host.position.line,
      col: host.position.col,
      message: `host ${host.name} is quarantined until ${q.until} (failed in ${q.failedRuns} consecutive runs${q.message !== undefined ? `; last: ${q.message}` : ''}): it gets no builds`,
      hint: `fix the host, then remove its entry from ${displayPath(config.dir, options.stateDir)}/hosts.json to end the quarantine early`,
    });
  }
  const states: BranchState[] = [];
  const isolation = new Map<string, IsolationSupport>();
  const probe = options.probeIsolation ?? probeHostIsolation;
  const desiredParts: unknown[] = [];
  const observedParts: string[] = [`ledger:${ledger.digest}`];
  const installedRoots = readInstalledRoots(options.stateDir).hosts;
  for (const branch of selected) {
    // The source is read (by worker threads too, for a large tree) while this thread reads the repos.
    const reading = readSource(config, branch, options.stateDir);
    let observing: ReturnType<typeof observeBranch>;
    try {
      observing = observeBranch(config, branch, ledger, options.stateDir);
    } catch (error) {
      await reading.catch(() => undefined);
      throw error;
    }
    const source = await reading;
    diagnostics.push(...source.diagnostics);
    const { observed, digests, diagnostics: repoDiagnostics } = observing;
    diagnostics.push(...repoDiagnostics);
    observedParts.push(...digests.map((d) => `${branch.name}/${d}`));
    if (hasErrors(source.diagnostics) || hasErrors(repoDiagnostics)) continue;

    const compareVersions = versionComparator(branch);
    const graph = buildDependencyGraph({
      recipes: source.recipes,
      invalidIds: source.invalid.map((r) => r.id),
      resolveIds: branch.source.format === 'freebsd-index',
      compareVersions,
      // An Arch tree builds against the distribution's repositories: what the tree lacks comes from there.
      externalDependencies: branch.source.format === 'srcinfo',
      ...(source.interned !== undefined ? { interned: source.interned } : {}),
    });
    diagnostics.push(
      ...recipeDiagnostics({
        graph,
        invalid: source.invalid,
        duds: branch.duds.map((d) => ({ package: d.package, file: d.file, position: d.position })),
        locate: source.locate,
      }),
    );
    const pipeline = config.pipelines.get(branch.pipeline)!;
    const prerequisites = Object.fromEntries(branch.prerequisites.map((p) => [p.name, p.sha256]));
    const fingerprints = computeFingerprints(graph, { pipelineDigest: pipeline.digest, prerequisites, rebuild: branch.rebuild });
    const withCommands = hostsWithCommands(eligibleHosts(config, branch), pipeline, { configDir: config.dir, stateDir: options.stateDir });
    const { hosts } = withCommands;
    const noneBecause = withCommands.noneBecause ?? allQuarantined(hosts, quarantined);
    if (withCommands.noneBecause !== undefined) {
      const hint = withCommands.noneBecause.startsWith('no host has the commands') ? 'install them on a host (see docs/ARCH.md for makepkg), or add a host that has them' : `do what the reason says on the host, or add a host that passes the hostCheck of ${pipeline.file} (see docs/ARCH.md for makepkg)`;
      diagnostics.push({ severity: 'warning', file: branch.file, line: branch.positions.pipeline.line, col: branch.positions.pipeline.col, message: `branch ${branch.name}: ${noneBecause}; its builds are skipped`, hint });
    }
    if (pipeline.isolation !== 'none') {
      for (const host of hosts) if (!isolation.has(host.name)) isolation.set(host.name, await probe(host));
      // A limit a host cannot hold is said, not pretended.
      for (const host of hosts) {
        const support = isolation.get(host.name);
        if (pipeline.limits.processes === undefined || support?.overlay !== true || support.limits.processes !== 'unsupported') continue;
        diagnostics.push({
          severity: 'warning',
          file: branch.file,
          line: branch.positions.pipeline.line,
          col: branch.positions.pipeline.col,
          message: `branch ${branch.name}: host ${host.name} cannot enforce limits.processes (builds run as root there, whom the kernel exempts from RLIMIT_NPROC, and it has no writable pids cgroup); its builds there run without a process limit`,
          hint: 'run the builds of that host as an unprivileged user, or give them a writable pids cgroup (docs/ISOLATION.md, "Limits")',
        });
      }
    }
    const plan = computeBranchPlan({
      branch: { name: branch.name, duds: branch.duds, repos: branch.repos },
      graph,
      invalid: source.invalid,
      fingerprints,
      observed,
      hosts: toScheduleHosts(hosts, new Set(quarantined.keys())),
      retryFailed: options.retryFailed ?? false,
      isolation: pipeline.isolation,
      capabilities: isolation,
      ...(noneBecause !== undefined ? { noEligibleHost: noneBecause } : {}),
      guards: branch.guards,
      compareVersions,
      ...(source.commit !== undefined ? { sourceCommit: source.commit } : {}),
    });
    const roots = planPrerequisites({ branch: branch.name, prerequisites: branch.prerequisites, hosts: hosts.filter((h) => !quarantined.has(h.name)).map((h) => h.name), installed: installedRoots });
    states.push({ config: branch, source, graph, fingerprints, observed, hosts, plan: roots !== undefined ? { ...plan, prerequisites: roots } : plan });
    desiredParts.push({
      branch: branch.name,
      config: { ...branch, file: undefined, positions: undefined },
      pipeline: pipeline.digest,
      recipes: fingerprints.idFingerprintList(),
      invalid: source.invalid.map((r) => r.id),
    });
  }
  const sorted = sortDiagnostics(diagnostics);
  const stopped = selectionFailed || states.length !== selected.length || selected.length === 0 || hasErrors(ledger.diagnostics);
  return {
    plan: stopped
      ? null
      : {
          formatVersion: PLAN_FORMAT_VERSION,
          branches: states.map((s) => s.plan),
          ...(quarantined.size > 0 ? { quarantinedHosts: [...quarantined].map(([host, q]) => ({ host, until: q.until, failedRuns: q.failedRuns, ...(q.message !== undefined ? { lastError: q.message } : {}) })) } : {}),
        },
    branches: states,
    diagnostics: sorted,
    isolation,
    stateDigest: {
      desired: hashCanonical({ hosts: config.hosts.map((h) => ({ ...h, file: undefined, position: undefined })), branches: desiredParts }),
      observed: sha256Hex(observedParts.join('\n')),
    },
  };
}

/** The branches named (all when none are), with an error for each unknown name. */
export function selectBranches(config: Config, names: readonly string[], diagnostics: Diagnostic[]): BranchConfig[] {
  if (names.length === 0) return [...config.branches];
  const selected: BranchConfig[] = [];
  for (const name of names) {
    const branch = config.branches.find((b) => b.name === name);
    if (branch === undefined) {
      diagnostics.push({ severity: 'error', file: `branches/${name}.yaml`, message: `no branch named "${name}"`, hint: `use one of: ${config.branches.map((b) => b.name).join(', ')}` });
    } else if (!selected.includes(branch)) selected.push(branch);
  }
  return selected;
}
