/**
 * A quarantined SSH host (hosts.yaml `quarantine:`, state in <state>/hosts.json) in
 * `plan` and `reconcile`: the plan names it (text, JSON, Markdown), plans the builds
 * on the other hosts, and skips with `no-eligible-host` a branch whose every host is
 * quarantined; reconcile never contacts it. (The quarantine itself, after real failed
 * runs over sshd, is in sshFleet.test.ts; `buildfleet hosts` in test/cli/hosts.test.ts.)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { configFiles, recipe, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';
import { rawTar } from '../helpers/tarballs.js';
import { testdir } from '../helpers/testdir.js';

interface QuarantinePlan extends PlanDocument {
  readonly quarantinedHosts?: readonly { host: string; until: string; failedRuns: number; lastError?: string }[];
  readonly branches: readonly (PlanDocument['branches'][number] & { prerequisites?: { hosts: { host: string; status: string }[] } })[];
}

describe('quarantined hosts in plan and reconcile', () => {
  it('names them, plans on the other hosts, and skips a branch that has no other host with no-eligible-host', { timeout: 60_000 }, async () => {
    const ssh = (name: string, labels: string) =>
      `  - { name: ${name}, transport: ssh, address: 127.0.0.9, port: 1, user: build, knownHostsFile: keys/known_hosts, power: 4, labels: [${labels}], connectTimeout: 1s }\n`;
    const tarball = rawTar([{ path: 'etc/os-release', content: 'ID=arm\n' }]);
    const dir = testdir({
      ...configFiles(),
      'hosts.yaml': `quarantine: { after: 2, for: 6h }\nhosts:\n  - { name: local, transport: local, power: 1, labels: [linux, x86_64] }\n${ssh('fast', 'linux, x86_64')}${ssh('armbox', 'arm')}`,
      'branches/arm.yaml': `source:\n  path: arm-recipes\n  format: recipe\npipeline: shell\nhosts: { labels: [arm] }\nprerequisites:\n  - { name: base, path: base.tar, sha256: ${createHash('sha256').update(tarball).digest('hex')} }\nrepos:\n  - { name: arm, path: repos/arm, format: plain }\n`,
      'keys/known_hosts': '',
      ...recipe('zlib'),
      ...recipe('libpng', { depends: ['zlib'] }),
      'arm-recipes/armtool/recipe.yaml': 'name: armtool\nversion: "1.0"\n',
    });
    writeFileSync(path.join(dir, 'base.tar'), tarball);
    const until = new Date(Date.now() + 3 * 3600_000).toISOString();
    mkdirSync(path.join(dir, 'var'), { recursive: true });
    const failure = (message: string) => ({ consecutiveFailedRuns: 2, quarantinedUntil: until, lastFailure: { at: new Date().toISOString(), runId: 'r1', message } });
    writeFileSync(path.join(dir, 'var/hosts.json'), JSON.stringify({ formatVersion: 1, hosts: { fast: failure('connect ECONNREFUSED'), armbox: failure('did not answer within 1s (connectTimeout)') } }));

    const json = await runCli(['-C', dir, 'plan', '--format', 'json', '--detailed-exitcode']);
    expect(json.code, json.stderr).toBe(2);
    const plan = JSON.parse(json.stdout) as QuarantinePlan;
    expect(plan.quarantinedHosts).toEqual([
      { host: 'fast', until, failedRuns: 2, lastError: 'connect ECONNREFUSED' },
      { host: 'armbox', until, failedRuns: 2, lastError: 'did not answer within 1s (connectTimeout)' },
    ]);
    const main = plan.branches.find((b) => b.name === 'main')!;
    expect(main.actions.map((a) => `${a.type} ${a.package}`)).toEqual(['build zlib', 'build libpng']);
    const arm = plan.branches.find((b) => b.name === 'arm')!;
    expect(arm.actions).toEqual([{ type: 'skip', package: 'armtool', version: '1.0-1', reason: 'no-eligible-host', detail: `every eligible host is quarantined (armbox until ${until})`, blocks: 0 }]);
    // A quarantined host gets no prerequisite root either.
    expect(arm.prerequisites?.hosts).toEqual([]);
    expect(json.stderr).toContain(`host fast is quarantined until ${until} (failed in 2 consecutive runs; last: connect ECONNREFUSED): it gets no builds`);

    const text = await runCli(['-C', dir, 'plan']);
    expect(text.stdout).toContain(`quarantined host fast until ${until} (failed in 2 consecutive runs; last: connect ECONNREFUSED): no builds there\n`);
    expect(text.stdout).toContain(`armtool 1.0-1  (no-eligible-host: every eligible host is quarantined (armbox until ${until}))`);
    const markdown = await runCli(['-C', dir, 'plan', '--format', 'markdown']);
    expect(markdown.stdout).toContain(`> quarantined host armbox until ${until} (failed in 2 consecutive runs; last: did not answer within 1s (connectTimeout)): no builds there.`);

    // reconcile: the x86_64 builds run on the local host; the quarantined hosts are never contacted.
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--branch', 'main']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as RunDocument).branches[0]!.results.map((r) => `${r.package} ${r.status} ${r.host}`)).toEqual(['zlib built local', 'libpng built local']);
    expect(run.stderr).not.toMatch(/ECONNREFUSED.*down for this run|127\.0\.0\.9:1: /);
  });
});
