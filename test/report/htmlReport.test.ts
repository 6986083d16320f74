/**
 * The HTML report of a real run, loaded in headless Chromium: the counts, the
 * failure with its step and (escaped) log tail, log links that lead to the logs,
 * the blast radius of a dud and of a failure, the timeline, a screenshot; and the
 * page refreshing itself while the run goes on.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpDom, screenshot } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { startCli, waitFor } from '../helpers/reconcile-process.js';
import { testdir, writeFiles } from '../helpers/testdir.js';
import { configFiles, recipe, type RunDocument } from '../helpers/reconcile-fixture.js';

const count = (html: string, status: string): number | undefined => {
  const m = new RegExp(`data-status="${status}"[^>]*><b>(\\d+)</b>`).exec(html);
  return m === null ? undefined : Number(m[1]);
};

describe('HTML run report', () => {
  it('renders in Chromium with counts, failures first, working log links, blast radius and timeline; status names it', { timeout: 120_000 }, async () => {
    const base = configFiles();
    const dir = testdir({
      ...base,
      'branches/main.yaml': `${base['branches/main.yaml'] as string}duds:\n  - package: motif\n    reason: needs <Motif> & "X11"\n`,
      ...recipe('lib'),
      ...recipe('app', { depends: ['lib'] }),
      ...recipe('broken', { script: 'echo compiling\necho "<script>alert(1)</script> & </pre><img src=x onerror=alert(2)>"\nexit 2' }),
      ...recipe('tool', { depends: ['broken'] }),
      ...recipe('motif'),
      ...recipe('xdemo', { depends: ['motif'] }),
      ...recipe('xextra', { depends: ['xdemo'] }),
    });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code, run.stderr).toBe(3);
    const { runId } = JSON.parse(run.stdout) as RunDocument;
    const stateDir = path.join(dir, 'var');
    const report = path.join(stateDir, 'runs', runId, 'report.html');
    const latest = path.join(stateDir, 'report.html');
    expect(existsSync(report)).toBe(true);

    const status = await runCli(['-C', dir, 'status']);
    expect(status.stdout).toContain(`report: ${latest}`);

    const [dom, shot] = await Promise.all([dumpDom(report), screenshot(latest, path.join(dir, 'report.png'), 1200, 900)]);
    expect(shot.width).toBe(1200);
    expect(shot.height).toBe(900);
    expect(shot.bytes).toBeGreaterThan(5000);

    // Counts as rendered.
    expect([count(dom, 'built'), count(dom, 'failed'), count(dom, 'skipped'), count(dom, 'staged')]).toEqual([2, 1, 4, 0]);
    expect(dom).toContain('<body data-state="failed">');
    expect(dom).not.toContain('http-equiv="refresh"');
    // Hostile log output and dud reason stay text: no element came out of them.
    expect(dom).not.toMatch(/<script|<img/);
    expect(dom).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(dom).toContain('needs &lt;Motif&gt; &amp; "X11"');
    // Failures first, with the failed step.
    const failure = /<article class="failure" data-package="broken">([\s\S]*?)<\/article>/.exec(dom)?.[1] ?? '';
    expect(failure).toContain('failed in step <code class="phase">build</code> on local');
    expect(dom.indexOf('id="failures"')).toBeLessThan(dom.indexOf('id="packages"'));
    // Every package row; every log link leads to the log.
    expect(dom.match(/<tr id="pkg-/g)).toHaveLength(7);
    const links = [...dom.matchAll(/<a class="(log|error-log)" href="([^"]+)">/g)].map((m) => path.resolve(path.dirname(report), decodeURIComponent(m[2]!)));
    expect(links).toHaveLength(6); // lib, app, broken and its error log in the table; broken and its error log again under Failures
    for (const link of links) expect(existsSync(link), link).toBe(true);
    expect(readFileSync(links.find((l) => l.includes('errors'))!, 'utf8')).toContain('compiling');
    // Blast radius: the dud and the failure with what they held back.
    expect(dom).toMatch(/<tr data-package="motif">.*?<td class="blocks">2<\/td><td class="held-back">xdemo, xextra<\/td>/);
    expect(dom).toMatch(/<tr data-package="broken">.*?<td class="blocks">1<\/td><td class="held-back">tool<\/td>/);
    // Skipped packages name what blocked them.
    expect(dom).toMatch(/<tr data-package="xextra">.*?dependency-skipped.*?>xdemo<\/a>/);
    // Timeline: one host, a bar per build.
    expect(dom.match(/<div class="bar s-(built|failed)"/g)).toHaveLength(3);
    // The latest pointer links from the state directory.
    expect(readFileSync(latest, 'utf8')).toContain('<a class="log" href="main/logs/lib-1.0-1.log">');
  });

  it('refreshes itself while the run goes on and stops refreshing when it ends', { timeout: 60_000 }, async () => {
    const dir = testdir({ ...configFiles(), ...recipe('quick') });
    const release = path.join(dir, 'release');
    writeFiles(dir, recipe('slow', { script: `while [ ! -e '${release}' ]; do sleep 0.05; done\n: > "$BUILDFLEET_OUT/slow-1.0-1.txt"` }));
    const latest = path.join(dir, 'var', 'report.html');
    const run = await startCli(['-C', dir, 'reconcile']);
    await waitFor('a report with quick built and slow running', () => {
      if (!existsSync(latest)) return false;
      const html = readFileSync(latest, 'utf8');
      return count(html, 'built') === 1 && count(html, 'running') === 1;
    });
    const live = readFileSync(latest, 'utf8');
    expect(live).toContain('<meta http-equiv="refresh" content="5">');
    expect(live).toContain('<body data-state="running">');
    expect(live).toMatch(/<div class="bar s-running" data-package="slow"/);
    writeFileSync(release, '');
    const done = await run.finished;
    expect(done.code, done.stderr).toBe(0);
    const final = readFileSync(latest, 'utf8');
    expect(final).not.toContain('http-equiv="refresh"');
    expect(count(final, 'built')).toBe(2);
    expect(count(final, 'running')).toBeUndefined();
  });
});
