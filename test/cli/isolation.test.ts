/**
 * Isolation in the config and the plan, through the CLI: located errors for keys
 * that need isolation, a root for an overlay branch, and `no-eligible-host` with
 * the reason when no host can isolate.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { describeIsolationSupport, parseProbe } from '../../src/execute/isolation.js';
import { planBranches } from '../../src/run/planBranches.js';
import { runCli } from '../helpers/cli.js';
import { BASE_BRANCH, BASE_HOSTS, baseConfig, testdir } from '../helpers/testdir.js';

/** plan checks the tarball against its digest (it does not read the entries). */
const ROOT_TARBALL = 'a stand-in: plan reads only its digest';
const SHA = createHash('sha256').update(ROOT_TARBALL).digest('hex');
const WITH_ROOT = BASE_BRANCH.replace('rebuild: transitive\n', `rebuild: transitive\nprerequisites:\n  - name: base\n    path: root.tar.gz\n    sha256: ${SHA}\n`);
const OVERLAY_PIPELINE = 'isolation: overlay\nlimits: { memory: 512M, processes: 64, output: 1G }\nsteps:\n  - name: fetch\n    run: ./fetch.sh\n    network: true\n  - name: build\n    run: ./build.sh\n';

describe('isolation in the config', () => {
  it('refuses limits without isolation, and an overlay branch without a root; warns about network without isolation', async () => {
    const dir = testdir({
      ...baseConfig(),
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    network: true\n',
      'pipelines/limited.yaml': 'limits: { memory: 1G }\nsteps:\n  - name: build\n    run: ./build.sh\n',
      'pipelines/isolated.yaml': 'isolation: overlay\nsteps:\n  - name: build\n    run: ./build.sh\n',
      'branches/other.yaml': BASE_BRANCH.replace('pipeline: shell', 'pipeline: isolated').replace('repos/main', 'repos/other'),
    });
    const run = await runCli(['-C', dir, 'validate']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'branches/other.yaml:4:11: error: pipeline "isolated" builds in isolation (overlay), which needs a root: this branch has no prerequisites',
      '  hint: add a prerequisite tarball holding the build root (docs/ISOLATION.md says how to make one), or use a pipeline with `isolation: none`',
      'pipelines/limited.yaml:1:9: error: limits are enforced only inside isolation',
      '  hint: add `isolation: overlay` to the pipeline, or remove `limits`',
      'pipelines/shell.yaml:4:14: warning: `network` only matters with `isolation: overlay` (without isolation every step reaches the network)',
      '  hint: add `isolation: overlay` to the pipeline, or remove `network`',
    ]);
  });

  it('refuses a size it cannot read, with a located hint', async () => {
    const dir = testdir({ ...baseConfig(), 'pipelines/shell.yaml': 'isolation: overlay\nlimits: { memory: 1.5G }\nsteps:\n  - name: build\n    run: ./build.sh\n' });
    const run = await runCli(['-C', dir, 'validate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('pipelines/shell.yaml:2:19: error: limits.memory: the string "1.5G" is not allowed here');
    expect(run.stderr).toContain('hint: write a size like 512M, 2G or 65536 (bytes); K, M and G are powers of 1024');
  });
});

describe('planning an isolated branch', () => {
  it('builds on a host that can isolate, and skips with no-eligible-host and the reason where none can', async () => {
    const dir = testdir({
      ...baseConfig(),
      'root.tar.gz': ROOT_TARBALL,
      'hosts.yaml': `${BASE_HOSTS}  - name: far\n    transport: ssh\n    address: 127.0.0.9\n    user: build\n    knownHostsFile: known_hosts\n    power: 1\n    labels: [remote]\n`,
      'known_hosts': '',
      'pipelines/shell.yaml': OVERLAY_PIPELINE,
      'branches/main.yaml': WITH_ROOT,
      'branches/far.yaml': WITH_ROOT.replace('labels: [x86_64]', 'labels: [remote]').replace('repos/main', 'repos/far'),
    });
    const run = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout) as { branches: { name: string; actions: { type: string; package: string; reason: string; detail?: string }[] }[] };
    const far = plan.branches.find((b) => b.name === 'far')!;
    const main = plan.branches.find((b) => b.name === 'main')!;
    expect(main.actions.map((a) => `${a.type} ${a.package}`)).toEqual(['build libc', 'build zlib', 'build app']);
    expect(far.actions.map((a) => `${a.type} ${a.package} ${a.reason}`)).toEqual(['skip app no-eligible-host', 'skip libc no-eligible-host', 'skip zlib no-eligible-host']);
    // The ssh host has no key to log in with: it cannot be checked, so it cannot isolate.
    expect(far.actions[0]!.detail).toMatch(/^the pipeline needs overlay isolation, which no eligible host supports \(far: not checked: no key to log in to build@127\.0\.0\.9:22/);
  });
});

describe('how a host holds the limits', () => {
  // What the probe prints on such hosts (see PROBE_SCRIPT and CGROUP_PROBE in src/execute).
  const cases: [string, string, string][] = [
    ['root with cgroup v1 memory and pids', 'uid 0\nok perl x86_64\ncgroup memory v1\ncgroup pids v1\n', 'overlay (as root; limits memory: cgroup, processes: cgroup)'],
    ['root without cgroups', 'uid 0\nok shell aarch64\n', 'overlay (as root; limits memory: rlimit, processes: not enforced (root without a pids cgroup))'],
    ['an unprivileged user without cgroups', 'uid 1000\nok perl x86_64\n', 'overlay (as uid 1000; limits memory: rlimit, processes: rlimit)'],
    ['an unprivileged user with a delegated v2 pids controller', 'uid 1000\nok perl x86_64\ncgroup pids v2\n', 'overlay (as uid 1000; limits memory: rlimit, processes: cgroup)'],
  ];
  it.each(cases)('%s', (_, stdout, text) => {
    expect(describeIsolationSupport(parseProbe(0, stdout, ''))).toBe(text);
  });

  it('plan warns, per host, when a branch sets limits.processes and the host cannot hold it', async () => {
    const dir = testdir({ ...baseConfig(), 'root.tar.gz': ROOT_TARBALL, 'pipelines/shell.yaml': OVERLAY_PIPELINE, 'branches/main.yaml': WITH_ROOT });
    const loaded = loadConfig(dir);
    expect(loaded.diagnostics).toEqual([]);
    const rootWithoutCgroups = parseProbe(0, 'uid 0\nok perl x86_64\ncgroup memory v1\n', '');
    const outcome = await planBranches({ config: loaded.config!, stateDir: path.join(dir, 'var'), probeIsolation: () => Promise.resolve(rootWithoutCgroups) });
    expect(outcome.plan!.branches[0]!.actions.filter((a) => a.type === 'build')).toHaveLength(3);
    expect(outcome.diagnostics.map((d) => `${d.severity} ${d.file}: ${d.message} (${d.hint})`)).toEqual([
      'warning branches/main.yaml: branch main: host local cannot enforce limits.processes (builds run as root there, whom the kernel exempts from RLIMIT_NPROC, and it has no writable pids cgroup); its builds there run without a process limit (run the builds of that host as an unprivileged user, or give them a writable pids cgroup (docs/ISOLATION.md, "Limits"))',
    ]);
    // A host with a pids cgroup holds it: no warning.
    const withCgroups = parseProbe(0, 'uid 0\nok perl x86_64\ncgroup memory v1\ncgroup pids v1\n', '');
    expect((await planBranches({ config: loaded.config!, stateDir: path.join(dir, 'var'), probeIsolation: () => Promise.resolve(withCgroups) })).diagnostics).toEqual([]);
  });
});
