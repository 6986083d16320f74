import { describe, expect, it } from 'vitest';
import { escapeHtml, renderRunHtml, type ReportData } from '../../src/report/renderHtml.js';

const HOSTILE = `<script>alert("x")</script><img src=x onerror='alert(1)'>&amp;`;

function data(overrides: Partial<ReportData> = {}): ReportData {
  return {
    runId: '20261123T200000Z-abcdef',
    startedAt: '2026-11-23T20:00:00.000Z',
    finishedAt: '2026-11-23T20:01:40.000Z',
    generatedAt: '2026-11-23T20:01:40.000Z',
    interrupted: false,
    branches: [
      {
        name: 'main',
        packages: [
          { package: 'libc', version: '2.40-1', status: 'built', reason: 'new', host: 'local', seconds: 10, startedAt: '2026-11-23T20:00:00.000Z', finishedAt: '2026-11-23T20:00:10.000Z', log: 'main/logs/libc-2.40-1.log' },
          { package: 'zlib', version: '1.3-1', status: 'built', reason: 'new', host: 'local', seconds: 20, startedAt: '2026-11-23T20:00:05.000Z', finishedAt: '2026-11-23T20:00:25.000Z', log: 'main/logs/zlib-1.3-1.log' },
          { package: 'app', version: '1.0-1', status: 'failed', reason: 'new', host: 'builder1', seconds: 30, phase: 'build', detail: 'exited with status 2', tail: ['make: *** [all] Error 2'], startedAt: '2026-11-23T20:00:30.000Z', finishedAt: '2026-11-23T20:01:00.000Z', log: 'main/logs/app-1.0-1.log', errorLog: 'main/errors/app-1.0-1.log' },
          { package: 'tool', version: '1-1', status: 'skipped', reason: 'dependency-failed', detail: 'app' },
          { package: 'motif', version: '2.3-1', status: 'skipped', reason: 'dud', detail: 'license' },
          { package: 'xdemo', version: '1-1', status: 'skipped', reason: 'dependency-skipped', detail: 'motif' },
          { package: 'old', version: '0.9-1', status: 'removed', reason: 'not-in-source' },
        ],
        errors: [],
        blastRadius: [
          { package: 'app', cause: 'failed in step build', detail: 'exited with status 2', heldBack: ['tool'] },
          { package: 'motif', cause: 'dud', detail: 'license', heldBack: ['xdemo'] },
        ],
      },
    ],
    ...overrides,
  };
}

describe('renderRunHtml', () => {
  it('renders counts, failures first, every package with a relative log link, skips, blast radius and a timeline', () => {
    const html = renderRunHtml(data(), { toStateDir: '../../' });
    const count = (status: string): string | undefined => new RegExp(`data-status="${status}"><b>(\\d+)</b>`).exec(html)?.[1];
    expect([count('built'), count('failed'), count('skipped'), count('removed'), count('staged')]).toEqual(['2', '1', '3', '1', '0']);
    expect(html.indexOf('id="failures"')).toBeLessThan(html.indexOf('id="packages"'));
    expect(html).toContain('failed in step <code class="phase">build</code> on builder1');
    expect(html).toContain('<pre class="tail">make: *** [all] Error 2</pre>');
    expect(html).toContain('<a class="log" href="../../main/logs/app-1.0-1.log">log</a>');
    expect(html).toContain('<a class="error-log" href="../../main/errors/app-1.0-1.log">error log</a>');
    expect(html.match(/<tr id="pkg-/g)).toHaveLength(7);
    expect(html).toMatch(/<tr data-package="xdemo"><td>.*<\/td><td>dependency-skipped<\/td><td><a href="#pkg-main%2Fmotif">motif<\/a><\/td><\/tr>/);
    expect(html).toMatch(/<tr data-package="motif"><td>main\/<b>motif<\/b><\/td><td>dud: license<\/td><td class="blocks">1<\/td><td class="held-back">xdemo<\/td><\/tr>/);
    // Two hosts; on local, zlib overlaps libc: two lanes.
    expect(html.match(/<div class="host" /g)).toHaveLength(2);
    expect(html).toMatch(/<div class="host" data-host="local">.*?(<div class="lane">.*?){2}/s);
    expect(html).toContain('style="left:0.00%;width:10.00%"');
    expect(html).not.toContain('http-equiv="refresh"');
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
  });

  it('reloads itself while the run goes on, and shows running and queued builds', () => {
    const running = data({ finishedAt: undefined, generatedAt: '2026-11-23T20:00:20.000Z' });
    const html = renderRunHtml(
      { ...running, branches: [{ ...running.branches[0]!, packages: [{ package: 'libc', status: 'running', host: 'local', startedAt: '2026-11-23T20:00:00.000Z' }, { package: 'zlib', status: 'queued' }] }] },
      { toStateDir: '', refreshSeconds: 3 },
    );
    expect(html).toContain('<meta http-equiv="refresh" content="3">');
    expect(html).toContain('data-status="running"><b>1</b>');
    expect(html).toContain('data-status="queued"><b>1</b>');
    expect(html).toContain('<body data-state="running">');
    expect(html).toContain('style="left:0.00%;width:100.00%"');
  });

  it('escapes hostile text everywhere: names, versions, details, tails, hosts, errors, links', () => {
    const hostile: ReportData = {
      runId: HOSTILE,
      startedAt: '2026-11-23T20:00:00.000Z',
      finishedAt: '2026-11-23T20:00:10.000Z',
      generatedAt: '2026-11-23T20:00:10.000Z',
      interrupted: false,
      branches: [
        {
          name: HOSTILE,
          packages: [
            { package: HOSTILE, version: HOSTILE, status: 'failed', reason: HOSTILE, detail: HOSTILE, phase: HOSTILE, host: HOSTILE, tail: [HOSTILE, '</pre><script>x</script>'], startedAt: '2026-11-23T20:00:00.000Z', finishedAt: '2026-11-23T20:00:05.000Z', log: `main/logs/"><script>x</script>:javascript:alert(1).log`, errorLog: 'javascript:alert(1)' },
            { package: 'ok', status: 'skipped', reason: 'dependency-failed', detail: HOSTILE },
          ],
          errors: [HOSTILE],
          blastRadius: [{ package: HOSTILE, cause: HOSTILE, detail: HOSTILE, heldBack: [HOSTILE] }],
        },
      ],
    };
    const html = renderRunHtml(hostile, { toStateDir: '../../' });
    expect(html).not.toMatch(/<script|<img|onerror='/i);
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;');
    // Links stay relative: every href is a path below the state dir or an anchor, with no scheme.
    for (const [, url] of html.matchAll(/href="([^"]*)"/g)) expect(url).toMatch(/^(\.\.\/\.\.\/[^:]*|#[^:]*)$/);
    expect(html).toContain('href="../../javascript%3Aalert(1)"');
  });

  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});
