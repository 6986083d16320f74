/**
 * `buildfleet status` over a damaged `runs/latest.json`: a warning naming the file, the last run
 * shown as none, everything else as usual (it was an internal error).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { baseConfig, testdir } from '../helpers/testdir.js';

const GOOD = { formatVersion: 1, runId: 'r1', startedAt: '2026-11-24T10:00:00Z', finishedAt: '2026-11-24T10:01:00Z', interrupted: false, branches: [{ branch: 'main', results: [{ package: 'libc', status: 'built' }] }] };

describe('buildfleet status', () => {
  it('warns about a damaged runs/latest.json and shows no last run', async () => {
    const dir = testdir(baseConfig());
    mkdirSync(path.join(dir, 'var/runs'), { recursive: true });
    for (const text of ['{torn', '{"formatVersion":1}', JSON.stringify({ ...GOOD, branches: null }), JSON.stringify({ ...GOOD, branches: [null] }), JSON.stringify({ ...GOOD, branches: [{ results: [{ status: 'exploded' }] }] })]) {
      writeFileSync(path.join(dir, 'var/runs/latest.json'), text);
      const r = await runCli(['-C', dir, 'status', '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('var/runs/latest.json: warning: not a run result of format 1: the last run is not shown\n  hint: the next `buildfleet reconcile` writes it anew; the runs are also in runs/<runId>.json\n');
      expect((JSON.parse(r.stdout) as { lastRun: unknown }).lastRun).toBeNull();
    }
    writeFileSync(path.join(dir, 'var/runs/latest.json'), JSON.stringify(GOOD));
    const good = await runCli(['-C', dir, 'status']);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toBe('');
    expect(good.stdout).toContain('last run: r1 2026-11-24T10:01:00Z: 1 built, 0 failed, 0 skipped, 0 removed\n');
  });
});
