/**
 * Builds that try to write outside their workspace, with `isolation: overlay`
 * over a real busybox root: `../` from the workspace, the absolute paths of the
 * state directory (its ledger included), the repo (its index included), the
 * extracted prerequisite root, /etc, /usr, /tmp and a canary directory of the
 * host. The writes succeed inside the build's overlay and nothing of them
 * persists: no canary anywhere on the host, the ledger, the repo and the root are
 * as the run made them. (Without isolation a build runs as the user running
 * buildfleet and can write anywhere: docs/ISOLATION.md says so; not tested here.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeBusyboxRootTarball } from '../helpers/busyboxRoot.js';
import { runCli } from '../helpers/cli.js';
import { findCanaries, listTree } from '../helpers/hostile.js';
import { readIndex, readLedgerLines, recipe, repoProblems, resultSummary, type RunDocument } from '../helpers/reconcile-fixture.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

function canaryDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-canaries-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Shell lines that write `canary-<label>` files into each of `dirs` (making the directories first) and say so. */
function writeInto(dirs: Record<string, string>): string {
  return Object.entries(dirs)
    .map(([label, d]) => `mkdir -p "${d}" && echo escaped > "${d}/canary-${label}" && echo "wrote ${label}"`)
    .join('\n');
}

describe('isolated builds writing outside their workspace', () => {
  it('write only into their overlay: nothing persists on the host, state, repo and root are untouched', { timeout: 90_000 }, async () => {
    const canaries = canaryDir();
    const dir = testdir({});
    const tarball = await makeBusyboxRootTarball(path.join(dir, 'busybox-root.tar.gz'), path.join(dir, 'scratch'));
    rmSync(path.join(dir, 'scratch'), { recursive: true });
    const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    const state = path.join(dir, 'var');
    const repo = path.join(dir, 'repos/main');
    const root = path.join(state, 'roots/main', sha);
    writeFiles(dir, {
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 2\n',
      'pipelines/isolated.yaml': 'isolation: overlay\nsteps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
      'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: isolated\nprerequisites:\n  - name: base\n    path: busybox-root.tar.gz\n    sha256: ${sha}\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
      // Built first: the repo and the ledger exist when the others run.
      ...recipe('first'),
      ...recipe('relative', {
        depends: ['first'],
        script: `${writeInto({ up1: '..', up3: '../../..', slash: '/' })}\ncd / && echo escaped > canary-cd-slash\necho ok > "$BUILDFLEET_OUT/relative-1.0-1.txt"`,
      }),
      ...recipe('state', {
        depends: ['first'],
        script: [
          writeInto({ state: state, logs: `${state}/main/logs`, roots: `${state}/roots`, root: root, repo: repo, host: canaries }),
          // Overwrite what the run keeps: the ledger, the repo's index, a file of the root.
          `mkdir -p "${repo}" && echo '{}' > "${repo}/index.json"`,
          `echo 'not json' >> "${state}/ledger.jsonl"`,
          `mkdir -p "${root}/etc" && echo escaped > "${root}/etc/os-release"`,
          'echo ok > "$BUILDFLEET_OUT/state-1.0-1.txt"',
        ].join('\n'),
      }),
      ...recipe('system', {
        depends: ['first'],
        script: `${writeInto({ etc: '/etc', usr: '/usr/lib', tmp: '/tmp', vartmp: '/var/tmp', roothome: '/root', outside: os.tmpdir() })}\necho escaped > /etc/os-release\necho ok > "$BUILDFLEET_OUT/system-1.0-1.txt"`,
      }),
    });
    const before = { etc: readdirSync('/etc'), usr: readdirSync('/usr/lib'), tmp: readdirSync(os.tmpdir()) };

    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['first built', 'relative built', 'state built', 'system built']);
    // The writes did happen, inside each build's overlay: its log says so.
    const log = (name: string): string => readFileSync(doc.branches[0]!.results.find((r) => r.package === name)!.log!, 'utf8');
    expect(log('relative')).toContain('wrote up3');
    expect(log('state')).toContain('wrote repo');
    expect(log('system')).toContain('wrote etc');

    // Nothing of it persists: no canary on the host (config, state, repo, root, /etc, /usr/lib, the temporary directory)…
    expect(findCanaries(dir, [canaries, '/etc', '/usr/lib', '/var/tmp', '/root', os.tmpdir(), path.dirname(dir)])).toEqual([]);
    expect(readdirSync('/etc').filter((n) => !before.etc.includes(n))).toEqual([]);
    expect(readdirSync('/usr/lib').filter((n) => !before.usr.includes(n))).toEqual([]);
    expect(readdirSync(canaries)).toEqual([]);
    // …the ledger holds only the run's records, the repo is consistent with its four packages, the root is as extracted.
    expect(readLedgerLines(state).unparsable).toEqual([]);
    expect(repoProblems(repo)).toEqual([]);
    expect(readIndex(repo)!.map((e) => e.name)).toEqual(['first', 'relative', 'state', 'system']);
    expect(readFileSync(path.join(root, 'etc/os-release'), 'utf8')).toBe('NAME="buildfleet busybox root"\nID=busybox\n');
    expect(listTree(root).filter((p) => !p.startsWith('bin/'))).toEqual(['etc/', 'etc/os-release', 'root/', 'tmp/', 'usr/', 'usr/bin/', 'var/']);
    expect(readdirSync(path.join(state, 'main/work'))).toEqual([]);
    expect(existsSync(path.join(dir, 'canary-cd-slash'))).toBe(false);
  });
});
