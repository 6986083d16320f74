/**
 * Builds whose output never ends: `yes` (endless lines), `tr '\0' x < /dev/zero`
 * (one endless line, no newline ever) and one that prints 600 KB and then
 * hangs silent. Each ends at its step's `timeout` (the first two: they never stop
 * printing, so `idleTimeout` cannot fire) or `idleTimeout` (the third), is
 * reported failed with the limit named, and leaves a log within `logLimit` (head,
 * marker with the dropped byte count, tail ending with buildfleet's failure line).
 * buildfleet's peak memory (VmHWM, polled) stays bounded while gigabytes go
 * through it; no process is left in the workspaces; a build beside them is
 * published. On the local host and over a real sshd.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCliMeasured } from '../helpers/cli.js';
import { readIndex, recipe, repoProblems, type RunDocument } from '../helpers/reconcile-fixture.js';
import { processesUnder, startSshFleet } from '../helpers/sshd.js';
import { BASE_HOSTS, testdir, writeFiles } from '../helpers/testdir.js';

const LIMIT = 64 * 1024;
const TIMEOUT_SECONDS = 3;
const IDLE_SECONDS = 2;
/** Seconds a loaded machine may add before the run ends. */
const SLACK_SECONDS = 45;
/** Peak RSS bound of the buildfleet process, MiB (an idle run: about 100). */
const RSS_BOUND_MIB = 250;


function files(hostsYaml: string): Record<string, string | { mode: number; content: string }> {
  return {
    'hosts.yaml': hostsYaml,
    'pipelines/shell.yaml': `steps:\n  - name: build\n    run: ./build.sh\n    timeout: ${TIMEOUT_SECONDS}s\n    idleTimeout: ${IDLE_SECONDS}s\nlogLimit: 64K\n`,
    'branches/main.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n',
    ...recipe('lines', { script: 'yes "endless line of $BUILDFLEET_PACKAGE"' }),
    ...recipe('oneline', { script: "tr '\\0' x < /dev/zero" }),
    ...recipe('stalls', { script: 'yes "stalling soon" | head -c 600000\nsleep 1000' }),
    ...recipe('ok'),
  };
}

async function runEndless(dir: string, workspaces: string): Promise<void> {
  const started = Date.now();
  const run = await runCliMeasured(['-C', dir, 'reconcile', '--format', 'json', '--grace', '1']);
  const elapsed = (Date.now() - started) / 1000;
  expect(run.code, run.stderr).toBe(3);
  expect(elapsed).toBeLessThan(TIMEOUT_SECONDS + SLACK_SECONDS);
  expect(run.peakRssMiB).toBeGreaterThan(0);
  expect(run.peakRssMiB).toBeLessThan(RSS_BOUND_MIB);
  console.log(`endless output: run took ${elapsed.toFixed(1)} s, peak RSS ${run.peakRssMiB.toFixed(0)} MiB`);

  const doc = JSON.parse(run.stdout) as RunDocument;
  const results = new Map(doc.branches[0]!.results.map((r) => [r.package, r]));
  expect([...results.values()].map((r) => `${r.package} ${r.status}`).sort()).toEqual(['lines failed', 'ok built', 'oneline failed', 'stalls failed']);
  expect(results.get('lines')!.detail).toBe(`step timed out after ${TIMEOUT_SECONDS}s (timeout)`);
  expect(results.get('oneline')!.detail).toBe(`step timed out after ${TIMEOUT_SECONDS}s (timeout)`);
  expect(results.get('stalls')!.detail).toBe(`step printed nothing for ${IDLE_SECONDS}s and was stopped (idleTimeout)`);
  // The tails in the run document are cut: one endless line does not fill the report.
  for (const r of results.values()) for (const line of r.tail ?? []) expect(line.length).toBeLessThanOrEqual(2_100);

  for (const name of ['lines', 'oneline', 'stalls']) {
    const log = results.get(name)!.log!;
    const text = readFileSync(log, 'latin1');
    expect(statSync(log).size).toBeLessThanOrEqual(LIMIT + 200);
    const marker = /\n==> buildfleet: log limit \(logLimit 64K of pipelines\/shell\.yaml\) reached: (\d+) bytes of output dropped here; the first and the last bytes are kept\n/.exec(text);
    expect(marker, `${name}: no log limit marker`).not.toBeNull();
    expect(Number(marker![1])).toBeGreaterThan(name === 'stalls' ? 500_000 : 1_000_000);
    console.log(`${name}: ${marker![1]} bytes of output dropped from the log`);
    expect(text.endsWith(`\nbuildfleet: build ${results.get(name)!.detail}\n`), `${name}: ${JSON.stringify(text.slice(-200))}`).toBe(true);
    expect(existsSync(`${log}.overflow`)).toBe(false);
  }
  expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['ok']);
  expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
  expect(processesUnder(workspaces)).toEqual([]);
}

describe('a log stream that never ends', () => {
  it('on the local host: stopped at timeout/idleTimeout, log within logLimit, memory bounded, nothing left running', { timeout: 120_000 }, async () => {
    const dir = testdir({});
    writeFiles(dir, files(BASE_HOSTS.replace('power: 2', 'power: 4')));
    await runEndless(dir, path.join(dir, 'var'));
  });

  it('over SSH (real sshd): the same', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const dir = testdir({});
    writeFiles(dir, files(`hosts:\n${fleet.hostsYaml([{ power: 4 }])}`));
    await runEndless(dir, fleet.hosts[0]!.workdir);
  });
});
