import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { loadConfig } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/types.js';
import { BASE_BRANCH, BASE_HOSTS, BASE_PIPELINE, baseConfig, testdir } from '../helpers/testdir.js';

describe('loadConfig: the normalized config', () => {
  it('applies defaults and makes paths absolute', () => {
    const dir = testdir({
      ...baseConfig(),
      'hosts.yaml': `${BASE_HOSTS}  - name: builder1\n    transport: ssh\n    power: 4\n    address: 127.0.0.2\n    user: build\n    knownHostsFile: keys/known_hosts\n    identityFile: /etc/buildfleet/id_ed25519\n`,
      'branches/main.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: /srv/repos/main\n    format: plain\n    hooks:\n      afterPublish: [scripts/index.sh]\n',
      'scripts/index.sh': { mode: 0o755, content: '#!/bin/sh\n' },
    });
    const { config, diagnostics } = loadConfig(dir);
    expect(diagnostics).toEqual([]);
    expect(config!.dir).toBe(dir);
    const [local, builder1] = config!.hosts;
    expect(local).toMatchObject({ name: 'local', transport: 'local', power: 2, labels: ['linux', 'x86_64'], port: 22, workdir: '/var/tmp/buildfleet', file: 'hosts.yaml', position: { line: 2, col: 5 } });
    expect(builder1).toMatchObject({ name: 'builder1', transport: 'ssh', labels: [], knownHostsFile: path.join(dir, 'keys/known_hosts'), identityFile: '/etc/buildfleet/id_ed25519', position: { line: 6, col: 5 } });
    const branch = config!.branches[0]!;
    expect(branch).toMatchObject({
      name: 'main',
      file: 'branches/main.yaml',
      source: { kind: 'path', path: path.join(dir, 'recipes'), format: 'recipe' },
      pipeline: 'shell',
      hostLabels: [],
      rebuild: 'transitive',
      prerequisites: [],
      duds: [],
    });
    expect(branch.repos).toEqual([
      { name: 'main', path: '/srv/repos/main', format: 'plain', packages: ['*'], prune: false, review: 'auto', afterPublish: [path.join(dir, 'scripts/index.sh')], hookTimeoutSeconds: 600, file: 'branches/main.yaml', position: { line: 6, col: 5 } },
    ]);
    expect(config!.pipelines.get('shell')).toMatchObject({ name: 'shell', file: 'pipelines/shell.yaml', steps: [{ name: 'build', run: './build.sh', timeoutSeconds: 600 }], artifacts: [] });
  });

  it('keeps timeouts out of the pipeline digest, and commands and artifacts in it', () => {
    const digest = (pipeline: string): string => loadConfig(testdir({ ...baseConfig(), 'pipelines/shell.yaml': pipeline })).config!.pipelines.get('shell')!.digest;
    const base = digest(BASE_PIPELINE);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(digest(BASE_PIPELINE.replace('timeout: 10m', 'timeout: 2h\n    idleTimeout: 5m'))).toBe(base);
    expect(digest(BASE_PIPELINE.replace('run: ./build.sh', 'run: ./build.sh --fast'))).not.toBe(base);
    expect(digest(`${BASE_PIPELINE}artifacts: ["out/*"]\n`)).not.toBe(base);
  });

  it('returns every diagnostic of every file, sorted, and no config', () => {
    const dir = testdir({ ...baseConfig(), 'hosts.yaml': 'hosts:\n  - name: Local\n    transport: local\n    power: 1\n', 'branches/main.yaml': BASE_BRANCH.replace('format: plain', 'format: zip') });
    const { config, diagnostics } = loadConfig(dir);
    expect(config).toBeNull();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'branches/main.yaml:10:13: error: repos[0].format must be one of plain, pacman, not the string "zip"\n  hint: use one of: plain, pacman',
      'hosts.yaml:2:11: error: hosts[0].name: the string "Local" is not allowed here\n  hint: host names use lower-case letters, digits, \'.\', \'_\' and \'-\', and start with a letter or digit',
    ]);
  });

  it('refuses a power above 1000 (2147483648 wrapped around in the scheduler: an internal error)', () => {
    for (const power of ['1001', '2147483648', '4294967297']) {
      const { config, diagnostics } = loadConfig(testdir({ ...baseConfig(), 'hosts.yaml': `hosts:\n  - name: local\n    transport: local\n    power: ${power}\n` }));
      expect(config).toBeNull();
      expect(diagnostics.map(formatDiagnostic)).toEqual([`hosts.yaml:4:12: error: hosts[0].power must be <= 1000, not the number ${power}\n  hint: power is a whole number of builds at once, from 1 to 1000`]);
    }
    expect(loadConfig(testdir({ ...baseConfig(), 'hosts.yaml': 'hosts:\n  - { name: local, transport: local, power: 1000, labels: [x86_64] }\n' })).diagnostics).toEqual([]);
  });

  it('refuses a timer duration of no time or of more than 24 days (Node fires such a timer at once: every build timed out)', () => {
    const files = {
      ...baseConfig(),
      'hosts.yaml': `${BASE_HOSTS}  - { name: far, transport: ssh, power: 1, address: 127.0.0.2, user: b, knownHostsFile: kh, connectTimeout: 0s, maxLoad: 4, loadCheckInterval: 600h }\n`,
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 600h\n    idleTimeout: 577h\n',
      'branches/main.yaml': BASE_BRANCH.replace('    prune: true\n', '    prune: true\n    hooks: { timeout: 0h0m0s }\n'),
    };
    const { config, diagnostics } = loadConfig(testdir(files));
    expect(config).toBeNull();
    const hint = '  hint: write a duration from 1s to 576h (24 days), e.g. 30m or 2h';
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      `branches/main.yaml:12:23: error: repos[0].hooks.timeout "0h0m0s" is no time at all\n${hint}`,
      `hosts.yaml:6:109: error: hosts[1].connectTimeout "0s" is no time at all\n${hint}`,
      `hosts.yaml:6:144: error: hosts[1].loadCheckInterval "600h" is longer than 24 days\n${hint}`,
      `pipelines/shell.yaml:4:14: error: steps[0].timeout "600h" is longer than 24 days\n${hint}`,
      `pipelines/shell.yaml:5:18: error: steps[0].idleTimeout "577h" is longer than 24 days\n${hint}`,
    ]);
    const ok = loadConfig(testdir({ ...baseConfig(), 'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 576h\n    idleTimeout: 1s\n' }));
    expect(ok.diagnostics).toEqual([]);
    expect(ok.config!.pipelines.get('shell')!.steps[0]).toMatchObject({ timeoutSeconds: 576 * 3600, idleTimeoutSeconds: 1 });
  });

  it('reads a pacman repo\'s sign: (its GnuPG home against the config directory) and refuses it on a plain repo or without a home there', () => {
    const pacman = BASE_BRANCH.replace('    format: plain\n', '    format: pacman\n');
    const dir = testdir({ ...baseConfig(), 'keys/.keep': '', 'branches/main.yaml': `${pacman}    sign: { key: 2D134ED089A62669B2A32C110C4F0EB80ED02EA2, gnupgHome: keys }\n` });
    const ok = loadConfig(dir);
    expect(ok.diagnostics).toEqual([]);
    expect(ok.config!.branches[0]!.repos[0]!.sign).toEqual({ key: '2D134ED089A62669B2A32C110C4F0EB80ED02EA2', gnupgHome: path.join(dir, 'keys') });
    expect(loadConfig(testdir({ ...baseConfig(), 'branches/main.yaml': `${pacman}    sign: { key: repo@example.org }\n` })).config!.branches[0]!.repos[0]!.sign).toEqual({ key: 'repo@example.org' });

    const refused = (branch: string): string[] => {
      const { config, diagnostics } = loadConfig(testdir({ ...baseConfig(), 'branches/main.yaml': branch }));
      expect(config).toBeNull();
      return diagnostics.map(formatDiagnostic);
    };
    expect(refused(`${BASE_BRANCH}    sign: { key: repo@example.org }\n`)).toEqual([
      'branches/main.yaml:12:11: error: repos[0].sign is for `format: pacman` repos: a plain repo has no signatures\n  hint: remove `sign`, or make the repo `format: pacman`',
    ]);
    expect(refused(`${pacman}    sign: { key: repo@example.org, gnupgHome: nowhere }\n`)).toEqual([
      'branches/main.yaml:12:47: error: repos[0].sign.gnupgHome "nowhere" is not a directory\n  hint: give the directory holding the signing key (relative to the config directory, or absolute), or remove gnupgHome to use gpg\'s own',
    ]);
    expect(refused(`${pacman}    sign: { key: --batch }\n`)).toEqual([
      'branches/main.yaml:12:18: error: repos[0].sign.key: the string "--batch" is not allowed here\n  hint: give the key as gpg --local-user takes it: its fingerprint (40 hex digits), key id or e-mail address',
    ]);
    expect(refused(`${pacman}    sign: {}\n`)).toEqual([
      'branches/main.yaml:12:11: error: missing required key "key" in repos[0].sign\n  hint: add `key:` (The signing key: a fingerprint, key id or e-mail address of a secret key in the GnuPG home)',
    ]);
  });

  it('refuses a quarantine of no time or of more than a year (a date past year 275760 failed the run that quarantined a host)', () => {
    const hint = '  hint: write a duration from 1s to 8760h (a year), e.g. 30m or 2h';
    for (const [duration, what] of [['99999999999h', 'longer than a year'], ['8761h', 'longer than a year'], ['0s', 'no time at all']]) {
      const { config, diagnostics } = loadConfig(testdir({ ...baseConfig(), 'hosts.yaml': `${BASE_HOSTS}quarantine: { after: 2, for: ${duration} }\n` }));
      expect(config).toBeNull();
      expect(diagnostics.map(formatDiagnostic)).toEqual([`hosts.yaml:6:30: error: quarantine.for "${duration}" is ${what}\n${hint}`]);
    }
    const ok = loadConfig(testdir({ ...baseConfig(), 'hosts.yaml': `${BASE_HOSTS}quarantine: { after: 2, for: 8760h }\n` }));
    expect(ok.diagnostics).toEqual([]);
    expect(ok.config!.quarantine).toEqual({ after: 2, forSeconds: 8760 * 3600 });
  });

  it('refuses sizes over 8 PiB and more processes than Linux has (they reached the cgroups as 1.07e+29)', () => {
    const files = {
      ...baseConfig(),
      'pipelines/iso.yaml': 'isolation: overlay\nlogLimit: 9999999999999G\nlimits: { memory: 99999999999G, output: 8388608G, processes: 8 }\nsteps:\n  - { name: build, run: ./build.sh }\n',
    };
    const { config, diagnostics } = loadConfig(testdir(files));
    expect(config).toBeNull();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'pipelines/iso.yaml:2:11: error: logLimit "9999999999999G" is larger than 8 PiB\n  hint: write a size like 512M or 2G',
      'pipelines/iso.yaml:3:19: error: limits.memory "99999999999G" is larger than 8 PiB\n  hint: write a size like 512M or 2G',
      'pipelines/iso.yaml:3:41: error: limits.output "8388608G" is larger than 8 PiB\n  hint: write a size like 512M or 2G',
    ]);
    const processes = loadConfig(testdir({ ...baseConfig(), 'pipelines/iso.yaml': 'isolation: overlay\nlimits: { processes: 4194305 }\nsteps:\n  - { name: build, run: ./build.sh }\n' }));
    expect(processes.diagnostics.map(formatDiagnostic)).toEqual([
      "pipelines/iso.yaml:2:22: error: limits.processes must be <= 4194304, not the number 4194305\n  hint: processes is a whole number from 4 (the isolation itself uses up to three) to 4194304 (Linux's most processes)",
    ]);
    const ok = loadConfig(testdir({ ...baseConfig(), 'pipelines/iso.yaml': 'isolation: overlay\nlimits: { memory: 8388607G, processes: 4194304 }\nsteps:\n  - { name: build, run: ./build.sh }\n' }));
    expect(ok.diagnostics).toEqual([]);
    expect(ok.config!.pipelines.get('iso')!.limits).toEqual({ memoryBytes: 8388607 * 1024 ** 3, processes: 4194304 });
  });

  it('loads a pacman repository', () => {
    const dir = testdir({ ...baseConfig(), 'branches/main.yaml': BASE_BRANCH.replace('format: plain', 'format: pacman') });
    const { config, diagnostics } = loadConfig(dir);
    expect(diagnostics).toEqual([]);
    expect(config?.branches[0]?.repos[0]).toMatchObject({ name: 'main', format: 'pacman' });
  });

  it('warns about a .yml file it ignores', () => {
    const dir = testdir({ ...baseConfig(), 'branches/extra.yml': BASE_BRANCH });
    const { config, diagnostics } = loadConfig(dir);
    expect(config).not.toBeNull();
    expect(diagnostics.map(formatDiagnostic)).toEqual(['branches/extra.yml: warning: ignored: config files end in .yaml\n  hint: rename it to branches/extra.yaml']);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1h0m5s', 3605],
    ['', undefined],
    ['10 minutes', undefined],
    ['5', undefined],
  ])('%j -> %s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });
});

describe('loadConfig: host load keys', () => {
  it('normalizes maxLoad, loadCheckInterval and loadFile', () => {
    const dir = testdir({ ...baseConfig(), 'hosts.yaml': 'hosts:\n  - { name: local, transport: local, power: 2, labels: [x86_64], maxLoad: 3.5, loadCheckInterval: 30s, loadFile: /run/load }\n' });
    const { config, diagnostics } = loadConfig(dir);
    expect(diagnostics).toEqual([]);
    expect(config!.hosts[0]).toMatchObject({ maxLoad: 3.5, loadCheckIntervalSeconds: 30, loadFile: '/run/load' });
  });

  it.each([
    ['maxLoad: 0', 'maxLoad is a load average greater than 0'],
    ['maxLoad: high', 'maxLoad is a load average greater than 0'],
    ['loadFile: proc/loadavg', 'loadFile must be an absolute path on the host'],
    ['loadCheckInterval: soon', 'write a duration like 90s'],
  ])('refuses %s with a located error', (entry, hint) => {
    const dir = testdir({ ...baseConfig(), 'hosts.yaml': `hosts:\n  - { name: local, transport: local, power: 2, labels: [x86_64], ${entry} }\n` });
    const { config, diagnostics } = loadConfig(dir);
    expect(config).toBeNull();
    expect(diagnostics.map((d) => formatDiagnostic(d))).toEqual([expect.stringMatching(new RegExp(`^hosts\\.yaml:2:\\d+: error: .*\\n  hint: ${hint}`))]);
  });
});
