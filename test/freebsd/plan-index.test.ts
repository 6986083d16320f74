/**
 * `buildfleet plan` over the real FreeBSD INDEX (../shared/corpora/freebsd-INDEX-11.gz)
 * with duds from `duds:` and a portbuild-style `dudsFile:`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli, scrub } from '../helpers/cli.js';
import { corpus } from '../helpers/corpora.js';
import { BASE_HOSTS, BASE_PIPELINE, testdir } from '../helpers/testdir.js';

const CORPUS = corpus('freebsd-INDEX-11.gz');

const BRANCH = `source:
  path: ports
  format: freebsd-index
  index: INDEX-11.gz
pipeline: shell
dudsFile: duds.txt
duds:
  - package: lang/ruby22       # two ports make the package "ruby": keep ruby23
    reason: superseded by ruby23
repos:
  - name: main
    path: repos/main
    format: plain
`;

/** Ports of the INDEX that depend on `origin`, transitively, computed from the INDEX fields directly. */
function dependentsOf(origins: readonly string[]): Set<string> {
  const lines = gunzipSync(readFileSync(CORPUS)).toString('utf8').split('\n').filter(Boolean).map((l) => l.split('|'));
  const originOf = new Map(lines.map((f) => [f[0]!, f[1]!.split('/').slice(-2).join('/')]));
  const users = new Map<string, Set<string>>();
  for (const f of lines) {
    const me = originOf.get(f[0]!)!;
    for (const i of [7, 8, 10, 11, 12]) {
      for (const dep of f[i]!.split(' ').filter(Boolean)) {
        const o = originOf.get(dep)!;
        if (o === me) continue;
        if (!users.has(o)) users.set(o, new Set());
        users.get(o)!.add(me);
      }
    }
  }
  const seen = new Set<string>();
  const queue = [...origins];
  while (queue.length > 0) {
    for (const u of users.get(queue.shift()!) ?? []) {
      if (!seen.has(u) && !origins.includes(u)) {
        seen.add(u);
        queue.push(u);
      }
    }
  }
  return seen;
}

describe('plan over the real FreeBSD INDEX', () => {
  it('builds every port except the duds and what depends on them; each dud shows how many it blocks', async () => {
    const dir = testdir({
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': BASE_PIPELINE,
      'branches/11.yaml': BRANCH,
      'ports/.keep': '',
      'duds.txt': '# portbuild duds\nx11/xserver14   # xorg-server: the 1.7 server is built\n\nx11/libXdmcp\nwww/no-such-port\n',
    });
    writeFileSync(path.join(dir, 'ports', 'INDEX-11.gz'), readFileSync(CORPUS));
    const result = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(result.code).toBe(0);
    expect(scrub(result.stderr, { [dir]: '<dir>' })).toBe(
      'duds.txt:5:1: warning: dud "www/no-such-port" names no package of the source\n  hint: remove the entry if the package is gone, or correct its name\n',
    );
    interface Action {
      type: string;
      package: string;
      reason: string;
      detail?: string;
      blocks?: number;
      packages?: string[];
      version?: string;
    }
    const branch = (JSON.parse(result.stdout) as { branches: { actions: Action[] }[] }).branches[0]!;
    const skips = branch.actions.filter((a) => a.type === 'skip');
    const duds = skips.filter((a) => a.reason === 'dud');
    expect(duds.map((d) => [d.package, d.detail])).toEqual([
      ['lang/ruby22', 'superseded by ruby23'],
      ['x11/libXdmcp', 'listed in duds.txt'],
      ['x11/xserver14', 'xorg-server: the 1.7 server is built'],
    ]);
    const blocked = dependentsOf(['x11/libXdmcp']);
    expect(blocked.size).toBeGreaterThan(50);
    expect(duds.find((d) => d.package === 'x11/libXdmcp')!.blocks).toBe(blocked.size);
    const all = dependentsOf(['x11/libXdmcp', 'x11/xserver14', 'lang/ruby22']);
    const skipped = skips.filter((a) => a.reason === 'dependency-skipped').map((a) => a.package);
    expect(new Set(skipped)).toEqual(all);
    const builds = branch.actions.filter((a) => a.type === 'build');
    expect(builds.length + skips.length).toBe(975);
    expect(builds.find((a) => a.package === 'devel/gmake')).toMatchObject({ packages: ['gmake'], version: '4.2', reason: 'new', repo: 'main' });
  });

  it('without duds, keeps of two ports making one package the one other ports need, and says so at the other line', async () => {
    const dir = testdir({ 'hosts.yaml': BASE_HOSTS, 'pipelines/shell.yaml': BASE_PIPELINE, 'branches/11.yaml': BRANCH.replace(/dudsFile: .*\nduds:\n(?: .*\n)*/, ''), 'ports/.keep': '' });
    writeFileSync(path.join(dir, 'ports', 'INDEX-11.gz'), readFileSync(CORPUS));
    const result = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      [
        'ports/INDEX-11.gz:194:1: error: package name ruby is also the package of lang/ruby22 (line 193), which is built instead: 1 port depends on it, 0 on this one',
        '  hint: a repository holds one package per name: make lang/ruby23 a dud to keep lang/ruby22, or make lang/ruby22 a dud to build lang/ruby23',
        'ports/INDEX-11.gz:731:1: error: package name xorg-server is also the package of x11/xserver17 (line 732), which is built instead: 6 ports depend on it, 0 on this one',
        '  hint: a repository holds one package per name: make x11/xserver14 a dud to keep x11/xserver17, or make x11/xserver17 a dud to build x11/xserver14',
        '',
      ].join('\n'),
    );
    const actions = (JSON.parse(result.stdout) as { branches: { actions: { type: string; package: string; reason: string }[] }[] }).branches[0]!.actions;
    expect(actions.filter((a) => a.type === 'skip').map((a) => [a.package, a.reason])).toEqual([
      ['lang/ruby23', 'invalid-recipe'],
      ['x11/xserver14', 'invalid-recipe'],
    ]);
    expect(actions.filter((a) => a.type === 'build').length).toBe(973);
  });

  it('refuses a missing INDEX with a located error and a hint', async () => {
    const dir = testdir({ 'hosts.yaml': BASE_HOSTS, 'pipelines/shell.yaml': BASE_PIPELINE, 'branches/11.yaml': BRANCH.replace('dudsFile: duds.txt\n', ''), 'ports/.keep': '' });
    const result = await runCli(['-C', dir, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('branches/11.yaml:4:10: error: INDEX file "INDEX-11.gz" does not exist in the source tree');
  });

  it('locates a bad duds file line', async () => {
    const dir = testdir({ 'hosts.yaml': BASE_HOSTS, 'pipelines/shell.yaml': BASE_PIPELINE, 'branches/11.yaml': BRANCH, 'duds.txt': 'devel/gmake\n  bad name here\n', 'ports/.keep': '' });
    writeFileSync(path.join(dir, 'ports', 'INDEX-11.gz'), readFileSync(CORPUS));
    const result = await runCli(['-C', dir, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('duds.txt:2:7: error: one dud per line: "name" follows "bad"');
  });
});
