/**
 * The bundled example's two branches ("example" and "example-3.0") reconciled at
 * once over the same host: each publishes into its own repo, its duds skipped,
 * and — measured from the ledger's build times — both progress concurrently.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyExample } from '../helpers/testdir.js';

interface LedgerLine {
  kind: string;
  branch: string;
  recipe: string;
  status: string;
  at: string;
  seconds: number;
}

describe('two branches in one reconcile', () => {
  it('builds both, each into its own repo, sharing the host: their builds overlap in time', async () => {
    const dir = copyExample(['example', 'example-3.0']);
    const plan = await runCli(['-C', dir, 'plan', '--branch', 'example-3.0']);
    expect(plan.stdout).toContain('branch example-3.0: 3 to build, 0 to remove, 1 skipped, 0 up to date');
    expect(plan.stdout).not.toContain('branch example:');
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { branches: { name: string; results: { package: string; status: string; reason?: string }[] }[] };
    expect(result.branches.map((b) => b.name)).toEqual(['example-3.0', 'example']);
    const b30 = result.branches[0]!.results.map((r) => `${r.package} ${r.reason ?? r.status}`).sort();
    expect(b30).toEqual(['libc built', 'shell built', 'xterm dud', 'zlib built']);
    expect(result.branches[1]!.results.filter((r) => r.status === 'built')).toHaveLength(8);
    const index = (repo: string): string[] =>
      (JSON.parse(readFileSync(path.join(dir, 'var', 'repos', repo, 'index.json'), 'utf8')) as { packages: { name: string; version: string }[] }).packages.map((p) => `${p.name}-${p.version}`);
    expect(index('example-3.0')).toEqual(['libc-3.0-1', 'shell-5.2-1', 'zlib-1.3.1-1']);
    expect(index('example')).toContain('libc-2.40-1');

    // Build intervals from the ledger (finish time and duration).
    const builds = readFileSync(path.join(dir, 'var', 'ledger.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LedgerLine)
      .filter((l) => l.kind === 'build' && l.status === 'built')
      .map((l) => ({ branch: l.branch, recipe: l.recipe, end: Date.parse(l.at) / 1000, start: Date.parse(l.at) / 1000 - l.seconds }));
    expect(builds).toHaveLength(11);
    const of = (branch: string) => builds.filter((b) => b.branch === branch);
    // Neither waits for the other: each branch's first build starts before the other's first build ends.
    const firstEnd = (branch: string): number => Math.min(...of(branch).map((b) => b.end));
    const firstStart = (branch: string): number => Math.min(...of(branch).map((b) => b.start));
    expect(firstStart('example-3.0')).toBeLessThan(firstEnd('example'));
    expect(firstStart('example')).toBeLessThan(firstEnd('example-3.0'));
    // And the branches' builds overlap for a good part of the run (3.0 is not left for the end).
    let overlap = 0;
    for (const a of of('example')) for (const b of of('example-3.0')) overlap += Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
    const b30Busy = of('example-3.0').reduce((s, b) => s + (b.end - b.start), 0);
    expect(overlap).toBeGreaterThan(0.5 * b30Busy);
  });
});
