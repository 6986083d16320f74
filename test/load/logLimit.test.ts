/**
 * `logLimit` end to end: a build that prints far more than its pipeline's limit, on
 * the local host and on a real sshd on loopback, is built (not failed) and leaves a
 * log of bounded size holding the head, a marker with the dropped byte count, and
 * the tail with the build's last line; a limit too small is a located config error.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { configFiles, readIndex, recipe, repoProblems, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { startSshFleet } from '../helpers/sshd.js';
import { testdir } from '../helpers/testdir.js';

const LIMIT = 64 * 1024;
/** About 1.9 MB of numbered lines, then the artifact and a last line. */
const NOISY = `seq 1 250000 | sed 's/^/noise line /'\n${WRITE_ARTIFACT}\necho "LAST LINE OF $BUILDFLEET_PACKAGE"`;

function pipelineWithLimit(limit: string): string {
  return `steps:\n  - name: build\n    run: ./build.sh\n    timeout: 2m\nlogLimit: ${limit}\n`;
}

function checkCappedLog(log: string, pkg: string): void {
  const text = readFileSync(log, 'utf8');
  // The limit, plus the marker line at most.
  expect(statSync(log).size).toBeLessThanOrEqual(LIMIT + 200);
  expect(text.startsWith(`==> main/${pkg} 1.0-1 on `)).toBe(true);
  expect(text).toContain('noise line 1\n');
  const marker = /\n==> buildfleet: log limit \(logLimit 64K of pipelines\/shell\.yaml\) reached: (\d+) bytes of output dropped here; the first and the last bytes are kept\n/.exec(text);
  expect(marker).not.toBeNull();
  const dropped = Number(marker![1]);
  expect(dropped).toBeGreaterThan(1_800_000);
  const tail = text.slice(marker!.index + marker![0].length);
  expect(tail.split('\n')[0]).toMatch(/^noise line \d+$/);
  expect(tail).toContain('noise line 250000\n');
  expect(tail).toMatch(new RegExp(`LAST LINE OF ${pkg}\n==> built in [0-9.]+s: ${pkg}-1\\.0-1\\.txt\n$`));
  expect(existsSync(`${log}.overflow`)).toBe(false);
}

describe('logLimit', () => {
  it('caps the log of a local build, keeping head and tail, and the build is published', { timeout: 60_000 }, async () => {
    const dir = testdir({ ...configFiles(), 'pipelines/shell.yaml': pipelineWithLimit('64K'), ...recipe('noisy', { script: NOISY }), ...recipe('quiet') });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as RunDocument;
    const noisy = doc.branches[0]!.results.find((r) => r.package === 'noisy')!;
    expect(noisy.status).toBe('built');
    checkCappedLog(noisy.log!, 'noisy');
    // A log within the limit is whole.
    const quiet = readFileSync(doc.branches[0]!.results.find((r) => r.package === 'quiet')!.log!, 'utf8');
    expect(quiet).not.toContain('log limit');
    expect(readIndex(path.join(dir, 'repos/main'))?.map((e) => e.name).sort()).toEqual(['noisy', 'quiet']);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
  });

  it('caps the log of an SSH build the same way', { timeout: 60_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const dir = testdir({ ...configFiles(), 'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 1 }])}`, 'pipelines/shell.yaml': pipelineWithLimit('64K'), ...recipe('noisy', { script: NOISY }) });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code).toBe(0);
    const noisy = (JSON.parse(run.stdout) as RunDocument).branches[0]!.results[0]!;
    expect(noisy).toMatchObject({ package: 'noisy', status: 'built', host: 'h1' });
    checkCappedLog(noisy.log!, 'noisy');
    expect(readdirSync(path.dirname(noisy.log!))).toEqual([path.basename(noisy.log!)]);
  });

  it('refuses a limit too small to hold a head and a tail, with its location', async () => {
    const dir = testdir({ ...configFiles(), 'pipelines/shell.yaml': pipelineWithLimit('1K'), ...recipe('quiet') });
    const run = await runCli(['-C', dir, 'validate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('pipelines/shell.yaml:5:11: error: logLimit 1K is too small to hold a log\'s head and tail\n  hint: write at least 4K, e.g. logLimit: 10M\n');
  });
});
