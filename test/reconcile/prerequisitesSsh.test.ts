/**
 * Prerequisites over SSH (real sshd on loopback): a root is uploaded once per host
 * and re-used by the next run, replaced on every host when its digest changes (old
 * root and tarball removed there), and a host that cannot install it is left out
 * for that branch while the other host builds everything.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { configFiles, planSummary, recipe, resultSummary, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';
import { startSshFleet, type SshFleet } from '../helpers/sshd.js';
import { baseSystem, rawTar } from '../helpers/tarballs.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

const USE_ROOT = '{ cat "$BUILDFLEET_ROOT/etc/release"; hostname; } > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"';

interface Setup {
  readonly dir: string;
  /** The current tarball's sha256. */
  sha(): string;
  /** Writes a new tarball and puts its digest in the branch. */
  setRelease(text: string): void;
}

function setup(fleet: SshFleet, release: string): Setup {
  const dir = testdir({ ...configFiles(), 'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 1, labels: ['x86_64'] }, { power: 1, labels: ['x86_64'] }])}` });
  for (const name of ['a1', 'a2', 'a3', 'a4']) writeFiles(dir, recipe(name, { script: `sleep 0.3\n${USE_ROOT}` }));
  mkdirSync(path.join(dir, 'tarballs'));
  let sha = '';
  const setRelease = (text: string): void => {
    const bytes = rawTar(baseSystem(text), { gzip: true });
    writeFileSync(path.join(dir, 'tarballs/base.tar.gz'), bytes);
    sha = createHash('sha256').update(bytes).digest('hex');
    const base = configFiles()['branches/main.yaml'] as string;
    writeFiles(dir, { 'branches/main.yaml': `${base}prerequisites:\n  - name: base\n    path: tarballs/base.tar.gz\n    sha256: ${sha}\n` });
  };
  setRelease(release);
  return { dir, sha: () => sha, setRelease };
}

/** The `prerequisites` event of a JSON log: uploads and bytes of the run (zeros when absent). */
function uploads(stderr: string): { uploads: number; extractions: number; removals: number } {
  const line = stderr.split('\n').find((l) => l.includes('"event":"prerequisites"'));
  if (line === undefined) return { uploads: 0, extractions: 0, removals: 0 };
  const e = JSON.parse(line) as { uploads: number; extractions: number; removals: number };
  return { uploads: e.uploads, extractions: e.extractions, removals: e.removals };
}

describe('prerequisites on SSH hosts', () => {
  it('uploads once per host, re-uses the root, and replaces it on every host when the digest changes', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 2 });
    onTestFinished(() => fleet.stop());
    const cfg = setup(fleet, 'release 1');
    const { dir } = cfg;
    const sha1 = cfg.sha();
    const rootOn = (h: number, sha: string): string => path.join(fleet.hosts[h]!.workdir, 'roots', 'main', sha);
    const tarballOn = (h: number, sha: string): string => path.join(fleet.hosts[h]!.workdir, 'tarballs', `${sha}.tar.gz`);

    const first = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['a1 built', 'a2 built', 'a3 built', 'a4 built']);
    expect(new Set(doc.branches[0]!.results.map((r) => r.host))).toEqual(new Set(['h1', 'h2']));
    expect(uploads(first.stderr)).toEqual({ uploads: 2, extractions: 2, removals: 0 });
    for (const h of [0, 1]) {
      expect(readdirSync(path.join(fleet.hosts[h]!.workdir, 'roots', 'main'))).toEqual([sha1]);
      expect(existsSync(path.join(rootOn(h, sha1), 'bin/hello'))).toBe(true);
    }
    const uploadedAt = [0, 1].map((h) => statSync(tarballOn(h, sha1)).mtimeMs);

    // Run 2: new packages build on both hosts over the same roots; nothing is uploaded.
    for (const name of ['b1', 'b2', 'b3', 'b4']) writeFiles(dir, recipe(name, { script: `sleep 0.3\n${USE_ROOT}` }));
    const second = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(second.code, second.stderr).toBe(0);
    expect(new Set((JSON.parse(second.stdout) as RunDocument).branches[0]!.results.map((r) => r.host))).toEqual(new Set(['h1', 'h2']));
    expect(uploads(second.stderr)).toEqual({ uploads: 0, extractions: 0, removals: 0 });
    expect([0, 1].map((h) => statSync(tarballOn(h, sha1)).mtimeMs)).toEqual(uploadedAt);

    // The digest changes: every build is prerequisite-changed; each host gets the new root, loses the old one.
    cfg.setRelease('release 2');
    const sha2 = cfg.sha();
    const plan = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(planSummary(JSON.parse(plan.stdout) as PlanDocument).every((line) => line.endsWith(' prerequisite-changed'))).toBe(true);
    expect(plan.stdout).toContain('"status": "replace"');
    const third = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(third.code, third.stderr).toBe(0);
    expect(uploads(third.stderr)).toEqual({ uploads: 2, extractions: 2, removals: 4 });
    for (const h of [0, 1]) {
      expect(readdirSync(path.join(fleet.hosts[h]!.workdir, 'roots', 'main'))).toEqual([sha2]);
      expect(readdirSync(path.join(fleet.hosts[h]!.workdir, 'tarballs'))).toEqual([`${sha2}.tar.gz`]);
    }
  });

  it('a host that cannot install the root is left out for the branch; the other builds everything', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 2 });
    onTestFinished(() => fleet.stop());
    const { dir } = setup(fleet, 'release 1');
    // h2's roots directory cannot be made.
    writeFileSync(path.join(fleet.hosts[1]!.workdir, 'roots'), 'in the way\n');
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['a1 built', 'a2 built', 'a3 built', 'a4 built']);
    expect(doc.branches[0]!.results.map((r) => r.host)).toEqual(['h1', 'h1', 'h1', 'h1']);
    expect(run.stderr).toContain('could not install the prerequisites of branch main on host h2');
  });
});
