/**
 * Loads and validates a config directory: hosts.yaml, branches/*.yaml and
 * pipelines/*.yaml. Every problem found is returned (not only the first), each
 * located at its YAML node.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { hashCanonical } from '../model/canonical.js';
import { crossCheck } from './crossCheck.js';
import { hasErrors, quoteShort, sortDiagnostics, type Diagnostic } from './diagnostic.js';
import { parseDudsFile } from './dudsFile.js';
import { displayPath, validateAgainstSchema, type SchemaName } from './schema.js';
import {
  DEFAULT_HOOK_TIMEOUT_SECONDS,
  DEFAULT_INDEX_TIMEOUT_SECONDS,
  DEFAULT_GUARDS,
  DEFAULT_ARCHITECTURE,
  DEFAULT_STEP_TIMEOUT_SECONDS,
  DEFAULT_WORKDIR,
  DEFAULT_LOG_LIMIT_BYTES,
  DEFAULT_MAX_UNPACKED_BYTES,
  MAX_TIMER_SECONDS,
  MIN_LOG_LIMIT_BYTES,
  formatSize,
  parseDuration,
  parseSize,
  type BranchConfig,
  type BuildLimits,
  type BranchName,
  type Config,
  type DudConfig,
  type FreebsdIndexConfig,
  type HostConfig,
  type QuarantineConfig,
  type HostName,
  type IsolationMode,
  type PipelineConfig,
  type RepoConfig,
  type SigningConfig,
  type SourceConfig,
} from './types.js';
import { diagnosticAt, parseYaml, positionOf, type YamlFile } from './yamlFile.js';

export interface LoadResult {
  /** Null when any error was found. */
  readonly config: Config | null;
  /** Errors and warnings, sorted by file and position. */
  readonly diagnostics: readonly Diagnostic[];
}

export const BRANCH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Reads, parses and schema-checks one YAML file of the config directory. */
function readConfigFile(dir: string, rel: string, schema: SchemaName, diagnostics: Diagnostic[]): { yaml: YamlFile; data: unknown } | null {
  const abs = path.join(dir, rel);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    diagnostics.push({
      severity: 'error',
      file: rel,
      message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`,
      hint: code === 'ENOENT' ? missingFileHint(rel) : 'check the file permissions',
    });
    return null;
  }
  const { yaml, diagnostics: syntax } = parseYaml(rel, text);
  if (syntax.length > 0) {
    diagnostics.push(...syntax);
    return null;
  }
  const data: unknown = yaml.data;
  if (data === null || data === undefined) {
    diagnostics.push({ severity: 'error', file: rel, line: 1, col: 1, message: 'the file is empty', hint: missingFileHint(rel) });
    return null;
  }
  const schemaErrors = validateAgainstSchema(schema, data, yaml);
  if (schemaErrors.length > 0) {
    diagnostics.push(...schemaErrors);
    return null;
  }
  return { yaml, data };
}

function missingFileHint(rel: string): string {
  if (rel === 'hosts.yaml') return 'create hosts.yaml with at least one host, e.g. `hosts: [{ name: local, transport: local, power: 2 }]` (or pass -C with the config directory)';
  return `create ${rel} (see docs/CONFIG.md)`;
}

function resolvePath(dir: string, p: string): string {
  return path.isAbsolute(p) ? path.normalize(p) : path.join(dir, p);
}

interface WrittenHost {
  name: string;
  transport: 'local' | 'ssh';
  power: number;
  labels?: string[];
  address?: string;
  port?: number;
  user?: string;
  identityFile?: string;
  passphraseEnv?: string;
  knownHostsFile?: string;
  workdir?: string;
  connectTimeout?: string;
  maxLoad?: number;
  loadCheckInterval?: string;
  loadFile?: string;
}

/** The longest `quarantine.for`: a year (a date beyond JavaScript's, in year 275760, made the run fail when it quarantined a host). */
const MAX_QUARANTINE_SECONDS = 365 * 24 * 3600;

/**
 * A duration in seconds from 1s to `max` (`maxText` in words). Undefined (with an error at
 * `keyPath`) when out of range, or when `text` is absent.
 */
function boundedSeconds(yaml: YamlFile, keyPath: (string | number)[], text: string | undefined, diagnostics: Diagnostic[], max: number, maxText: string): number | undefined {
  if (text === undefined) return undefined;
  const seconds = parseDuration(text);
  if (seconds === undefined) return undefined; // the schema has said so
  if (seconds >= 1 && seconds <= max) return seconds;
  diagnostics.push(
    diagnosticAt(yaml, keyPath, `${displayPath(keyPath)} ${JSON.stringify(text)} is ${seconds < 1 ? 'no time at all' : `longer than ${maxText}`}`, `write a duration from 1s to ${max / 3600}h (${maxText}), e.g. 30m or 2h`),
  );
  return undefined;
}

/**
 * A duration that becomes a timer: 1s to MAX_TIMER_SECONDS (0s would fire at once, and Node fires
 * a timer of more than 24.8 days at once too).
 */
function timerSeconds(yaml: YamlFile, keyPath: (string | number)[], text: string | undefined, diagnostics: Diagnostic[]): number | undefined {
  return boundedSeconds(yaml, keyPath, text, diagnostics, MAX_TIMER_SECONDS, '24 days');
}

/**
 * A size in bytes (`512M`), at most Number.MAX_SAFE_INTEGER (8 PiB): larger ones lose their exact
 * value, and reached the build's cgroups as `1.0737418239999999e+29`. Undefined (with an error at
 * `keyPath`) when too large, or when `text` is absent.
 */
function sizeBytes(yaml: YamlFile, keyPath: (string | number)[], text: string | undefined, diagnostics: Diagnostic[]): number | undefined {
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) return undefined; // the schema has said so
  if (bytes <= Number.MAX_SAFE_INTEGER) return bytes;
  diagnostics.push(diagnosticAt(yaml, keyPath, `${displayPath(keyPath)} ${quoteShort(text)} is larger than 8 PiB`, 'write a size like 512M or 2G'));
  return undefined;
}

function loadHosts(dir: string, diagnostics: Diagnostic[]): { hosts: HostConfig[]; quarantine?: QuarantineConfig } | null {
  const file = readConfigFile(dir, 'hosts.yaml', 'hosts', diagnostics);
  if (file === null) return null;
  const { hosts: written, quarantine } = file.data as { hosts: WrittenHost[]; quarantine?: { after: number; for: string } };
  const hosts = written.map((h, i) => ({
    name: h.name as HostName,
    transport: h.transport,
    power: h.power,
    labels: h.labels ?? [],
    ...(h.address !== undefined ? { address: h.address } : {}),
    port: h.port ?? 22,
    ...(h.user !== undefined ? { user: h.user } : {}),
    ...(h.identityFile !== undefined ? { identityFile: resolvePath(dir, h.identityFile) } : {}),
    ...(h.passphraseEnv !== undefined ? { passphraseEnv: h.passphraseEnv } : {}),
    ...(h.knownHostsFile !== undefined ? { knownHostsFile: resolvePath(dir, h.knownHostsFile) } : {}),
    workdir: h.workdir ?? DEFAULT_WORKDIR,
    ...(h.connectTimeout !== undefined ? { connectTimeoutSeconds: timerSeconds(file.yaml, ['hosts', i, 'connectTimeout'], h.connectTimeout, diagnostics) ?? 0 } : {}),
    ...(h.maxLoad !== undefined ? { maxLoad: h.maxLoad } : {}),
    // A timer too: while every host is over its maxLoad, the run waits this long before reading again.
    ...(h.loadCheckInterval !== undefined ? { loadCheckIntervalSeconds: timerSeconds(file.yaml, ['hosts', i, 'loadCheckInterval'], h.loadCheckInterval, diagnostics) ?? 0 } : {}),
    ...(h.loadFile !== undefined ? { loadFile: h.loadFile } : {}),
    file: 'hosts.yaml',
    position: positionOf(file.yaml, ['hosts', i]),
  }));
  const forSeconds = boundedSeconds(file.yaml, ['quarantine', 'for'], quarantine?.for, diagnostics, MAX_QUARANTINE_SECONDS, 'a year');
  return { hosts, ...(quarantine !== undefined ? { quarantine: { after: quarantine.after, forSeconds: forSeconds ?? 0 } } : {}) };
}

interface WrittenPipeline {
  steps: { name: string; run: string; timeout?: string; idleTimeout?: string; network?: boolean }[];
  artifacts?: string[];
  isolation?: IsolationMode;
  limits?: { memory?: string; processes?: number; output?: string };
  requires?: string[];
  logLimit?: string;
  hostCheck?: string;
}

function loadPipeline(dir: string, rel: string, name: string, diagnostics: Diagnostic[]): PipelineConfig | null {
  const file = readConfigFile(dir, rel, 'pipeline', diagnostics);
  if (file === null) return null;
  const written = file.data as WrittenPipeline;
  const names = new Map<string, number>();
  let ok = true;
  written.steps.forEach((step, i) => {
    const first = names.get(step.name);
    if (first !== undefined) {
      diagnostics.push(diagnosticAt(file.yaml, ['steps', i, 'name'], `step "${step.name}" is defined twice (first as step ${first + 1})`, 'give each step its own name'));
      ok = false;
    } else names.set(step.name, i);
  });
  if (!ok) return null;
  const steps = written.steps.map((step, i) => {
    const idle = timerSeconds(file.yaml, ['steps', i, 'idleTimeout'], step.idleTimeout, diagnostics);
    return {
      name: step.name,
      run: step.run,
      timeoutSeconds: timerSeconds(file.yaml, ['steps', i, 'timeout'], step.timeout, diagnostics) ?? DEFAULT_STEP_TIMEOUT_SECONDS,
      ...(idle !== undefined ? { idleTimeoutSeconds: idle } : {}),
      network: step.network ?? false,
    };
  });
  const artifacts = written.artifacts ?? [];
  const isolation = written.isolation ?? 'none';
  if (isolation === 'none') {
    if (written.limits !== undefined) diagnostics.push(diagnosticAt(file.yaml, ['limits'], 'limits are enforced only inside isolation', 'add `isolation: overlay` to the pipeline, or remove `limits`'));
    written.steps.forEach((step, i) => {
      if (step.network !== undefined) {
        diagnostics.push(
          diagnosticAt(file.yaml, ['steps', i, 'network'], '`network` only matters with `isolation: overlay` (without isolation every step reaches the network)', 'add `isolation: overlay` to the pipeline, or remove `network`', { severity: 'warning' }),
        );
      }
    });
    if (written.limits !== undefined) return null;
  }
  const memoryBytes = sizeBytes(file.yaml, ['limits', 'memory'], written.limits?.memory, diagnostics);
  const outputBytes = sizeBytes(file.yaml, ['limits', 'output'], written.limits?.output, diagnostics);
  const limits: BuildLimits = {
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
    ...(written.limits?.processes !== undefined ? { processes: written.limits.processes } : {}),
    ...(outputBytes !== undefined ? { outputBytes } : {}),
  };
  // Timeouts and limits do not change what a build produces, so they stay out of the digest; the
  // environment does (isolation, network), and is added only when set so that older digests hold.
  const digest = hashCanonical({
    steps: steps.map((s) => ({ name: s.name, run: s.run, ...(s.network ? { network: true } : {}) })),
    artifacts,
    ...(isolation !== 'none' ? { isolation } : {}),
  });
  const logLimitBytes = sizeBytes(file.yaml, ['logLimit'], written.logLimit, diagnostics) ?? DEFAULT_LOG_LIMIT_BYTES;
  if (logLimitBytes < MIN_LOG_LIMIT_BYTES) {
    diagnostics.push(diagnosticAt(file.yaml, ['logLimit'], `logLimit ${written.logLimit ?? ''} is too small to hold a log's head and tail`, `write at least ${formatSize(MIN_LOG_LIMIT_BYTES)}, e.g. logLimit: 10M`));
    return null;
  }
  return { name, file: rel, steps, artifacts, isolation, limits, logLimitBytes, requires: written.requires ?? [], ...(written.hostCheck !== undefined ? { hostCheck: written.hostCheck } : {}), digest };
}

interface WrittenBranch {
  source: { path?: string; git?: string; ref?: string; subdir?: string; format: SourceConfig['format']; index?: string; indexCommand?: string; indexTimeout?: string };
  pipeline: string;
  hosts?: { labels?: string[] };
  rebuild?: BranchConfig['rebuild'];
  guards?: { maxBuilds?: number | null; maxRemovePercent?: number };
  architecture?: string;
  prerequisites?: { name: string; path: string; sha256: string; maxUnpackedSize?: string }[];
  duds?: { package: string; reason: string }[];
  dudsFile?: string;
  repos: {
    name: string;
    path: string;
    format: RepoConfig['format'];
    packages?: string[];
    prune?: boolean;
    review?: RepoConfig['review'];
    hooks?: { afterPublish?: string[]; timeout?: string };
    sign?: { key: string; gnupgHome?: string };
  }[];
}

/** A repo's `sign:` resolved (its GnuPG home against the config directory); only a pacman repository has signatures. */
function repoSigning(r: WrittenBranch['repos'][number], i: number, dir: string, at: (p: (string | number)[], message: string, hint: string) => void): { sign?: SigningConfig } {
  if (r.sign === undefined) return {};
  if (r.format !== 'pacman') {
    at(['sign'], `repos[${i}].sign is for \`format: pacman\` repos: a ${r.format} repo has no signatures`, 'remove `sign`, or make the repo `format: pacman`');
    return {};
  }
  if (r.sign.gnupgHome === undefined) return { sign: { key: r.sign.key } };
  const gnupgHome = resolvePath(dir, r.sign.gnupgHome);
  if (!isDirectory(gnupgHome)) at(['sign', 'gnupgHome'], `repos[${i}].sign.gnupgHome ${JSON.stringify(r.sign.gnupgHome)} is not a directory`, 'give the directory holding the signing key (relative to the config directory, or absolute), or remove gnupgHome to use gpg\'s own');
  return { sign: { key: r.sign.key, gnupgHome } };
}

function loadBranch(dir: string, rel: string, name: string, diagnostics: Diagnostic[]): BranchConfig | null {
  const file = readConfigFile(dir, rel, 'branch', diagnostics);
  if (file === null) return null;
  const w = file.data as WrittenBranch;
  const errorsBefore = diagnostics.length;
  const at = (p: (string | number)[], message: string, hint: string): void => {
    diagnostics.push(diagnosticAt(file.yaml, p, message, hint));
  };

  let source: SourceConfig | null = null;
  if (w.source.path !== undefined && w.source.git !== undefined) {
    at(['source', 'git'], 'source has both `path` and `git`', 'keep one: `path` for a directory, `git` (with `ref`) for a repository');
  } else if (w.source.path !== undefined) {
    source = { kind: 'path', path: resolvePath(dir, w.source.path), format: w.source.format };
    if (w.source.ref !== undefined || w.source.subdir !== undefined) {
      at(['source', w.source.ref !== undefined ? 'ref' : 'subdir'], '`ref` and `subdir` only apply to git sources', 'remove it, or use `git:` instead of `path:`');
    }
  } else if (w.source.git !== undefined) {
    const subdir = path.posix.normalize((w.source.subdir ?? '.').replace(/^\/+/, ''));
    if (subdir === '..' || subdir.startsWith('../')) at(['source', 'subdir'], `subdir ${JSON.stringify(w.source.subdir)} leaves the repository`, 'give a directory inside the repository, relative to its top');
    else source = { kind: 'git', url: resolveGitUrl(dir, w.source.git), ref: w.source.ref ?? 'HEAD', subdir: subdir === '.' ? '' : subdir.replace(/\/+$/, ''), format: w.source.format };
  } else {
    at(['source'], 'source needs `path` (a directory) or `git` (a repository)', 'add e.g. `path: recipes`');
  }
  if (w.source.format !== 'recipe' && w.source.format !== 'srcinfo' && w.source.format !== 'freebsd-index') {
    at(['source', 'format'], `source format "${String(w.source.format)}" is not supported by this version of buildfleet yet`, 'use `format: recipe` (native recipe.yaml files) or `format: srcinfo` (.SRCINFO files)');
  } else if (w.source.format !== 'recipe' && w.source.git !== undefined) {
    at(['source', 'format'], `\`format: ${w.source.format}\` is read from a local directory only, not from a git repository`, 'check the tree out and give it as `path:`, or use `format: recipe`');
  }
  if (source?.kind === 'path' && !isDirectory(source.path)) {
    at(['source', 'path'], `source directory ${JSON.stringify(w.source.path)} does not exist`, 'create it or correct the path (relative to the config directory)');
  } else if (source?.kind === 'path') {
    const index = loadIndexConfig(w, source.path, at, (p, text) => timerSeconds(file.yaml, p, text, diagnostics));
    if (index !== undefined) source = { ...source, index };
  }

  const prerequisites = (w.prerequisites ?? []).map((p, i) => {
    const abs = resolvePath(dir, p.path);
    if (!existsSync(abs)) at(['prerequisites', i, 'path'], `prerequisite file ${JSON.stringify(p.path)} does not exist`, 'correct the path (relative to the config directory) or add the tarball');
    const maxUnpackedBytes = sizeBytes(file.yaml, ['prerequisites', i, 'maxUnpackedSize'], p.maxUnpackedSize, diagnostics) ?? DEFAULT_MAX_UNPACKED_BYTES;
    return { name: p.name, path: abs, sha256: p.sha256, maxUnpackedBytes, file: rel, position: positionOf(file.yaml, ['prerequisites', i]), sha256Position: positionOf(file.yaml, ['prerequisites', i, 'sha256']) };
  });
  const prereqNames = new Set<string>();
  prerequisites.forEach((p, i) => {
    if (prereqNames.has(p.name)) at(['prerequisites', i, 'name'], `prerequisite "${p.name}" is listed twice`, 'give each prerequisite its own name');
    prereqNames.add(p.name);
  });

  const repoNames = new Set<string>();
  const repos: RepoConfig[] = w.repos.map((r, i) => {
    if (repoNames.has(r.name)) at(['repos', i, 'name'], `repo "${r.name}" is defined twice in this branch`, 'give each repo its own name');
    repoNames.add(r.name);
    return {
      name: r.name,
      path: resolvePath(dir, r.path),
      format: r.format,
      packages: r.packages ?? ['*'],
      prune: r.prune ?? false,
      review: r.review ?? 'auto',
      afterPublish: (r.hooks?.afterPublish ?? []).map((h, j) => {
        const abs = resolvePath(dir, h);
        const problem = hookProblem(abs);
        if (problem !== undefined) at(['repos', i, 'hooks', 'afterPublish', j], `hook ${quoteShort(h)} ${problem}`, 'give the path of an executable program (relative to the config directory, or absolute); it is run without a shell, so write no arguments or shell syntax');
        return abs;
      }),
      hookTimeoutSeconds: timerSeconds(file.yaml, ['repos', i, 'hooks', 'timeout'], r.hooks?.timeout, diagnostics) ?? DEFAULT_HOOK_TIMEOUT_SECONDS,
      ...repoSigning(r, i, dir, (p, message, hint) => at(['repos', i, ...p], message, hint)),
      file: rel,
      position: positionOf(file.yaml, ['repos', i]),
    };
  });

  const duds: DudConfig[] = (w.duds ?? []).map((d, i) => ({ package: d.package, reason: d.reason, file: rel, position: positionOf(file.yaml, ['duds', i, 'package']) }));
  if (w.dudsFile !== undefined) duds.push(...loadDudsFile(dir, w.dudsFile, duds, diagnostics, () => at(['dudsFile'], `duds file ${JSON.stringify(w.dudsFile)} does not exist`, 'create it or correct the path (relative to the config directory)')));

  if (diagnostics.length > errorsBefore || source === null) return null;
  return {
    name: name as BranchName,
    file: rel,
    source,
    pipeline: w.pipeline,
    hostLabels: w.hosts?.labels ?? [],
    rebuild: w.rebuild ?? 'transitive',
    architecture: w.architecture ?? DEFAULT_ARCHITECTURE,
    prerequisites,
    duds,
    repos,
    guards: { maxBuilds: w.guards?.maxBuilds !== undefined ? w.guards.maxBuilds : DEFAULT_GUARDS.maxBuilds, maxRemovePercent: w.guards?.maxRemovePercent ?? DEFAULT_GUARDS.maxRemovePercent },
    positions: { pipeline: positionOf(file.yaml, ['pipeline']), hosts: positionOf(file.yaml, ['hosts']) },
  };
}

/** The INDEX of a freebsd-index source (undefined for other formats, which must not set the index keys). */
function loadIndexConfig(
  w: WrittenBranch,
  tree: string,
  at: (p: (string | number)[], message: string, hint: string) => void,
  timer: (p: (string | number)[], text: string | undefined) => number | undefined,
): FreebsdIndexConfig | undefined {
  const { index, indexCommand, indexTimeout } = w.source;
  if (w.source.format !== 'freebsd-index') {
    for (const key of ['index', 'indexCommand', 'indexTimeout'] as const) {
      if (w.source[key] !== undefined) at(['source', key], `\`${key}\` only applies to \`format: freebsd-index\``, 'remove it');
    }
    return undefined;
  }
  const file = resolvePath(tree, index ?? 'INDEX');
  if (indexCommand === undefined && !existsSync(file)) {
    at(
      ['source', index !== undefined ? 'index' : 'format'],
      `INDEX file ${JSON.stringify(index ?? 'INDEX')} does not exist in the source tree`,
      'generate it (`make index` in the ports tree), correct `index:` (relative to source.path), or set `indexCommand:` so that reconcile generates it',
    );
  }
  const timeout = timer(['source', 'indexTimeout'], indexTimeout);
  return { file, ...(indexCommand !== undefined ? { command: indexCommand } : {}), timeoutSeconds: timeout ?? DEFAULT_INDEX_TIMEOUT_SECONDS };
}

/** The entries of a `dudsFile:` not already listed under `duds:`; problems are located in the duds file. */
function loadDudsFile(dir: string, written: string, listed: readonly DudConfig[], diagnostics: Diagnostic[], missing: () => void): DudConfig[] {
  const abs = resolvePath(dir, written);
  const display = path.isAbsolute(written) ? abs : path.normalize(written);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') missing();
    else diagnostics.push({ severity: 'error', file: display, message: `cannot read the duds file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the file permissions' });
    return [];
  }
  const parsed = parseDudsFile(text, display);
  diagnostics.push(...parsed.diagnostics);
  const known = new Set(listed.map((d) => d.package));
  return parsed.entries
    .filter((e) => !known.has(e.package))
    .map((e) => ({ package: e.package, reason: e.reason ?? `listed in ${display}`, file: display, position: { line: e.line, col: e.col } }));
}

/** A URL (`scheme://…`, `user@host:path`) as written; anything else is a path, relative to the config directory. */
function resolveGitUrl(dir: string, url: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) || /^[^/]+@[^/:]+:/.test(url)) return url;
  return resolvePath(dir, url);
}

/** Why `file` cannot be run as a hook, or undefined when it can. */
function hookProblem(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return 'is not a file';
    accessSync(file, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    if (code === 'EACCES') return 'is not executable (chmod +x it)';
    if (code === 'ENAMETOOLONG') return 'is too long to be a path';
    return `cannot be run (${code ?? 'error'})`;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** YAML files of a config subdirectory, with a warning for `.yml` files that would be ignored. */
function listYaml(dir: string, sub: string, diagnostics: Diagnostic[]): string[] {
  let entries: string[];
  try {
    entries = readdirSync(path.join(dir, sub));
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (entry.endsWith('.yml')) {
      diagnostics.push({ severity: 'warning', file: `${sub}/${entry}`, message: 'ignored: config files end in .yaml', hint: `rename it to ${sub}/${entry.slice(0, -4)}.yaml` });
    }
  }
  return entries.filter((e) => e.endsWith('.yaml')).sort();
}

/** Loads the whole config directory. */
export function loadConfig(configDir: string): LoadResult {
  const dir = path.resolve(configDir);
  const diagnostics: Diagnostic[] = [];
  if (!isDirectory(dir)) {
    return { config: null, diagnostics: [{ severity: 'error', file: configDir, message: 'config directory not found', hint: 'pass -C with the directory holding hosts.yaml and branches/' }] };
  }
  const loadedHosts = loadHosts(dir, diagnostics);
  const hosts = loadedHosts?.hosts ?? null;

  const pipelines = new Map<string, PipelineConfig>();
  const brokenPipelines = new Set<string>();
  for (const entry of listYaml(dir, 'pipelines', diagnostics)) {
    const name = entry.slice(0, -'.yaml'.length);
    const pipeline = loadPipeline(dir, `pipelines/${entry}`, name, diagnostics);
    if (pipeline !== null) pipelines.set(name, pipeline);
    else brokenPipelines.add(name);
  }

  const branches: BranchConfig[] = [];
  let branchesOk = true;
  const branchFiles = listYaml(dir, 'branches', diagnostics);
  if (branchFiles.length === 0) {
    diagnostics.push({ severity: 'error', file: 'branches/', message: 'no branch defined', hint: 'add a file branches/<name>.yaml describing what to build (see docs/CONFIG.md)' });
  }
  for (const entry of branchFiles) {
    const name = entry.slice(0, -'.yaml'.length);
    const rel = `branches/${entry}`;
    if (!BRANCH_NAME.test(name)) {
      diagnostics.push({ severity: 'error', file: rel, message: `"${name}" is not a valid branch name`, hint: 'rename the file: branch names use letters, digits, ".", "_" and "-"' });
      branchesOk = false;
      continue;
    }
    const branch = loadBranch(dir, rel, name, diagnostics);
    if (branch !== null) branches.push(branch);
    else branchesOk = false;
  }

  // Rules that do not need the hosts (pipelines, repo paths) are checked even when hosts.yaml is broken: every error at once.
  diagnostics.push(...crossCheck({ dir, hosts: hosts ?? [], hostsComplete: hosts !== null, branches, pipelines, brokenPipelines }));
  const sorted = sortDiagnostics(diagnostics);
  if (hosts === null || !branchesOk || hasErrors(sorted)) return { config: null, diagnostics: sorted };
  return { config: { dir, hosts, ...(loadedHosts?.quarantine !== undefined ? { quarantine: loadedHosts.quarantine } : {}), branches, pipelines }, diagnostics: sorted };
}
