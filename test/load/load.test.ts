/**
 * The load run (issue 8 item 4) at test size: 150 small builds over three real sshd
 * hosts on loopback. Every build's log is complete, the ledger and the repo name the
 * same packages with the same fingerprints and nothing else, a second plan has nothing
 * to do, nothing is left running or lying in the hosts' workdirs, and the peak RSS of
 * the buildfleet process stays under a bound. bench/load-5000.js is the full size.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { checkLoadRun, writeLoadConfig } from '../../bench/lib/load-fixture.js';
import { runCli, runCliMeasured } from '../helpers/cli.js';
import { processesUnder, startSshFleet } from '../helpers/sshd.js';
import { testdir } from '../helpers/testdir.js';

const COUNT = 150;
/** Peak RSS bound of the buildfleet process for this run, MiB (measured 100-130 MiB). */
const RSS_BOUND_MIB = 300;


describe('load', () => {
  it(`builds ${COUNT} small recipes over three SSH hosts: every log complete, ledger and repo agree, memory bounded`, { timeout: 300_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 3 });
    onTestFinished(() => fleet.stop());
    const dir = testdir({});
    const { names, repo } = writeLoadConfig(dir, { count: COUNT, bases: 20, fleet, power: 4 });
    const stateDir = path.join(dir, 'var');

    const run = await runCliMeasured(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(run.stderr).not.toMatch(/"level":(50|60)/);
    expect(run.code).toBe(0);
    const check = checkLoadRun({ stateDir, repo, names });
    expect(check.problems).toEqual([]);
    expect(check.results).toBe(COUNT);
    // The document on stdout is the saved run result.
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(readFileSync(path.join(stateDir, 'runs', 'latest.json'), 'utf8')));
    expect(run.peakRssMiB).toBeGreaterThan(0);
    expect(run.peakRssMiB).toBeLessThan(RSS_BOUND_MIB);

    // Nothing left: no process in the hosts' workdirs, no workspace, no local scratch.
    for (const h of fleet.hosts) {
      expect(processesUnder(h.workdir)).toEqual([]);
      const work = path.join(h.workdir, 'work', 'main');
      expect(existsSync(work) ? readdirSync(work) : []).toEqual([]);
    }
    const localWork = path.join(stateDir, 'main', 'work');
    expect(existsSync(localWork) ? readdirSync(localWork) : []).toEqual([]);

    // The repo and the ledger say the same as the plan: nothing left to do.
    const again = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });
});
