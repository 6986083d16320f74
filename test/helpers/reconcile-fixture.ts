/**
 * Small config repositories for `reconcile` tests, whose recipes are tiny sh
 * scripts, and readers that check what a run left behind: the plain repo (index
 * and files), the ledger, the lock. Builds write
 * "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt" with deterministic
 * content, so that two runs of the same config publish the same sha256s.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { recipeYaml, type Files } from './testdir.js';

/** The line every default build uses to write its artifact (content: package, version and the sorted dependency files it saw). */
export const WRITE_ARTIFACT = '{ echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION"; ls "$BUILDFLEET_DEPS"; } > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"';

export interface RecipeSpec {
  readonly version?: string;
  readonly depends?: readonly string[];
  /** Body of build.sh (after `#!/bin/sh` and `set -eu`); default: write the artifact. */
  readonly script?: string;
}

/** recipes/<name>/recipe.yaml and an executable recipes/<name>/build.sh. */
export function recipe(name: string, spec: RecipeSpec = {}): Files {
  return {
    [`recipes/${name}/recipe.yaml`]: recipeYaml(name, { version: spec.version ?? '1.0', depends: spec.depends ?? [] }),
    [`recipes/${name}/build.sh`]: { mode: 0o755, content: `#!/bin/sh\nset -eu\n${spec.script ?? WRITE_ARTIFACT}\n` },
  };
}

export interface PipelineStep {
  readonly name: string;
  readonly run: string;
  readonly timeout?: string;
  readonly idleTimeout?: string;
}

export interface ConfigSpec {
  /** Builds the local host runs at once (default 2). */
  readonly power?: number;
  /** Default: one step `build` running ./build.sh with a 2m timeout. */
  readonly steps?: readonly PipelineStep[];
  /** afterPublish hooks of repo `main` (paths relative to the config dir). */
  readonly afterPublish?: readonly string[];
}

/** hosts.yaml (one local host), pipelines/shell.yaml, branches/main.yaml with repo `main` at repos/main. */
export function configFiles(spec: ConfigSpec = {}): Files {
  const steps = spec.steps ?? [{ name: 'build', run: './build.sh', timeout: '2m' }];
  const hooks = spec.afterPublish !== undefined ? `    hooks:\n      afterPublish: [${spec.afterPublish.join(', ')}]\n` : '';
  return {
    'hosts.yaml': `hosts:\n  - name: local\n    transport: local\n    power: ${spec.power ?? 2}\n    labels: [linux, x86_64]\n`,
    'pipelines/shell.yaml': `steps:\n${steps
      .map((s) => [`  - name: ${s.name}`, `    run: ${s.run}`, `    timeout: ${s.timeout ?? '2m'}`, ...(s.idleTimeout !== undefined ? [`    idleTimeout: ${s.idleTimeout}`] : [])].join('\n'))
      .join('\n')}\n`,
    'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: shell\nhosts: { labels: [x86_64] }\nrebuild: transitive\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n    prune: true\n${hooks}`,
  };
}

/** The run result document of `reconcile --format json`, as far as tests read it. */
export interface RunDocument {
  readonly formatVersion: number;
  readonly runId: string;
  readonly interrupted?: boolean;
  readonly branches: readonly { readonly name: string; readonly results: readonly RunResultEntry[]; readonly errors?: readonly string[] }[];
}

export interface RunResultEntry {
  readonly package: string;
  readonly version?: string;
  readonly status: string;
  readonly host?: string;
  readonly seconds?: number;
  readonly log?: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly phase?: string;
  readonly tail?: readonly string[];
}

/** The plan document of `plan --format json`, as far as tests read it. */
export interface PlanDocument {
  readonly formatVersion: number;
  readonly branches: readonly { readonly name: string; readonly actions: readonly { type: string; package: string; reason: string; detail?: string; version?: string }[] }[];
}

/** `package status[ reason]` of every result of branch `main`, sorted: a compact view to compare. */
export function resultSummary(doc: RunDocument): string[] {
  return (doc.branches.find((b) => b.name === 'main')?.results ?? []).map((r) => `${r.package} ${r.status}${r.reason !== undefined ? ` ${r.reason}` : ''}`).sort();
}

/** `type package reason` of every action of branch `main`, sorted. */
export function planSummary(doc: PlanDocument): string[] {
  return (doc.branches.find((b) => b.name === 'main')?.actions ?? []).map((a) => `${a.type} ${a.package} ${a.reason}`).sort();
}

export interface IndexEntry {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  readonly fingerprint: string;
}

/** The entries of `<repo>/index.json`, or null when there is no index yet. Throws when it does not parse. */
export function readIndex(repo: string): IndexEntry[] | null {
  const file = path.join(repo, 'index.json');
  if (!existsSync(file)) return null;
  const data = JSON.parse(readFileSync(file, 'utf8')) as { formatVersion: number; packages: IndexEntry[] };
  if (data.formatVersion !== 1 || !Array.isArray(data.packages)) throw new Error(`${file}: not a formatVersion 1 index`);
  return data.packages;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * What is wrong with a plain repo: an index that does not parse, an indexed file
 * that is missing or whose sha256 or size differs. Empty when consistent.
 */
export function repoProblems(repo: string): string[] {
  let entries: IndexEntry[] | null;
  try {
    entries = readIndex(repo);
  } catch (error) {
    return [`index.json: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  for (const e of entries ?? []) {
    const file = path.join(repo, e.file);
    if (!existsSync(file)) {
      problems.push(`${e.name}: indexed file ${e.file} is missing`);
      continue;
    }
    if (statSync(file).size !== e.size) problems.push(`${e.name}: ${e.file} has size ${statSync(file).size}, index says ${e.size}`);
    if (sha256File(file) !== e.sha256) problems.push(`${e.name}: ${e.file} does not match its indexed sha256`);
  }
  return problems;
}

/** Files of the repo directory (index.json included, temporaries excluded), sorted. */
export function repoFiles(repo: string): string[] {
  if (!existsSync(repo)) return [];
  return readdirSync(repo)
    .filter((f) => !f.startsWith('.'))
    .sort();
}

/** A ledger line as tests read it. */
export interface LedgerLine {
  readonly kind: string;
  readonly runId: string;
  readonly recipe: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly status: string;
  readonly phase?: string;
}

export interface LedgerRead {
  readonly records: LedgerLine[];
  /** 1-based numbers of complete (newline-terminated) lines that do not parse. */
  readonly unparsable: number[];
  /** The unterminated last line, if any (a run was killed while writing it). */
  readonly tornTail: string | null;
}

/** Reads `<state>/ledger.jsonl` line by line without the product's reader. */
export function readLedgerLines(stateDir: string): LedgerRead {
  const file = path.join(stateDir, 'ledger.jsonl');
  if (!existsSync(file)) return { records: [], unparsable: [], tornTail: null };
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const tail = lines.pop()!;
  const records: LedgerLine[] = [];
  const unparsable: number[] = [];
  lines.forEach((line, i) => {
    try {
      records.push(JSON.parse(line) as LedgerLine);
    } catch {
      unparsable.push(i + 1);
    }
  });
  return { records, unparsable, tornTail: tail === '' ? null : tail };
}

/** Ledger build records of `recipe` (all statuses), oldest first. */
export function buildsOf(stateDir: string, recipeName: string): LedgerLine[] {
  return readLedgerLines(stateDir).records.filter((r) => r.kind === 'build' && r.recipe === recipeName);
}
