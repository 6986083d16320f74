/**
 * The HTML run report: one self-contained static page (inline CSS, no script,
 * no external resource) from run data — summary counts, failures first with the
 * failed step and the log's last lines, every package with its status, reason,
 * host, duration and a relative link to its log, skipped packages with what
 * blocked them, the blast radius of each package that held others back, and a
 * per-host timeline. While the run goes on the page reloads itself. Every piece
 * of text is escaped. Pure.
 */
import type { PackageStatus } from '../run/runResult.js';
import { formatSeconds } from './format.js';

/** A package's state in the report: a run result status, or still to come. */
export type ReportStatus = PackageStatus | 'running' | 'queued';

export interface ReportPackage {
  readonly package: string;
  readonly version?: string;
  readonly status: ReportStatus;
  readonly reason?: string;
  readonly detail?: string;
  readonly host?: string;
  /** Wall time of the build, seconds. */
  readonly seconds?: number;
  /** ISO 8601 (builds that ran in this run). */
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Failures: the step that failed and the log's last lines. */
  readonly phase?: string;
  readonly tail?: readonly string[];
  /** The build log, relative to the state directory ('/'-separated). */
  readonly log?: string;
  /** Failures: the copy of the log under errors/, relative to the state directory. */
  readonly errorLog?: string;
}

/** A package that could not be built and the packages it held back (transitively). */
export interface BlastRadius {
  readonly package: string;
  /** `failed`, or the skip reason (`dud`, `invalid-recipe`, `rejected`, …). */
  readonly cause: string;
  readonly detail?: string;
  readonly heldBack: readonly string[];
}

export interface ReportBranch {
  readonly name: string;
  readonly packages: readonly ReportPackage[];
  /** Publish and hook problems. */
  readonly errors: readonly string[];
  readonly blastRadius: readonly BlastRadius[];
}

export interface ReportData {
  readonly runId: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** Absent while the run goes on. */
  readonly finishedAt?: string;
  /** When the page was written (ISO 8601); the timeline ends here while running. */
  readonly generatedAt: string;
  readonly interrupted: boolean;
  readonly branches: readonly ReportBranch[];
}

export interface RenderOptions {
  /** Prefix leading from the page to the state directory (`../../` for runs/<id>/report.html, `` for <state>/report.html). */
  readonly toStateDir: string;
  /** Seconds between reloads while the run goes on (default 5). */
  readonly refreshSeconds?: number;
}

const STATUS_ORDER: readonly ReportStatus[] = ['failed', 'running', 'staged', 'built', 'queued', 'skipped', 'removed'];
/** Skip reasons that only pass on another package's problem (the blocker is in `detail`). */
const INHERITED = new Set(['dependency-skipped', 'dependency-failed', 'aborted']);

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c]!) : text;
}

const SPECIAL = /[&<>"']/;
const SPECIALS = /[&<>"']/g;
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const esc = escapeHtml;

/** A relative URL of a state-directory path: each segment percent-encoded (no scheme, query or fragment can sneak in). */
function href(toStateDir: string, rel: string): string {
  return esc(`${toStateDir}${rel.split('/').map(encodeURIComponent).join('/')}`);
}

function countBy(data: ReportData): Map<ReportStatus, number> {
  const counts = new Map<ReportStatus, number>(STATUS_ORDER.map((s) => [s, 0]));
  for (const b of data.branches) for (const p of b.packages) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  return counts;
}

export function renderRunHtml(data: ReportData, options: RenderOptions): string {
  const running = data.finishedAt === undefined;
  const counts = countBy(data);
  const state = running ? 'running' : data.interrupted ? 'interrupted' : (counts.get('failed') ?? 0) > 0 || data.branches.some((b) => b.errors.length > 0) ? 'failed' : 'ok';
  const end = data.finishedAt ?? data.generatedAt;
  const elapsed = Math.max(0, (Date.parse(end) - Date.parse(data.startedAt)) / 1000);
  const parts: string[] = [];
  parts.push(
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    running ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds ?? 5))}">` : '',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`buildfleet run ${data.runId}${running ? ' (running)' : ''}`)}</title>`,
    `<style>${CSS}</style></head>`,
    `<body data-state="${state}">`,
    `<header><h1>buildfleet run <span class="run-id">${esc(data.runId)}</span></h1>`,
    `<p class="when">${running ? '<b class="live">running</b> — this page reloads itself; ' : data.interrupted ? '<b class="bad">interrupted</b> — ' : ''}started ${esc(data.startedAt)}${running ? `, ${esc(formatSeconds(elapsed))} so far (as of ${esc(data.generatedAt)})` : `, finished ${esc(end)} after ${esc(formatSeconds(elapsed))}`}</p>`,
    '</header>',
  );
  parts.push('<ul class="summary">');
  for (const status of STATUS_ORDER) {
    const n = counts.get(status) ?? 0;
    if (n === 0 && (status === 'running' || status === 'queued')) continue;
    parts.push(`<li class="count s-${status}" data-status="${status}"><b>${n}</b> ${status}</li>`);
  }
  parts.push('</ul>');

  // Sections push their lines into one array, joined once: a large run's page is tens of megabytes.
  renderFailures(parts, data, options);
  renderErrors(parts, data);
  renderBlastRadius(parts, data);
  renderTimeline(parts, data);
  renderSkipped(parts, data);
  renderPackages(parts, data, options);
  parts.push(`<footer>written ${esc(data.generatedAt)} by buildfleet</footer></body></html>`, '');
  return parts.filter((p) => p !== '').join('\n') + '\n';
}

function name(branch: string, pkg: ReportPackage): string {
  return `${esc(branch)}/<b>${esc(pkg.package)}</b>${pkg.version !== undefined ? ` <span class="version">${esc(pkg.version)}</span>` : ''}`;
}

function logLinks(pkg: ReportPackage, options: RenderOptions): string {
  const links: string[] = [];
  if (pkg.log !== undefined) links.push(`<a class="log" href="${href(options.toStateDir, pkg.log)}">log</a>`);
  if (pkg.errorLog !== undefined) links.push(`<a class="error-log" href="${href(options.toStateDir, pkg.errorLog)}">error log</a>`);
  return links.join(' ');
}

function renderFailures(out: string[], data: ReportData, options: RenderOptions): void {
  const failures = data.branches.flatMap((b) => b.packages.filter((p) => p.status === 'failed').map((p) => ({ branch: b.name, p })));
  if (failures.length === 0) return;
  out.push(`<section id="failures"><h2>Failures (${failures.length})</h2>`);
  for (const { branch, p } of failures) {
    out.push(
      `<article class="failure" data-package="${esc(p.package)}">`,
      `<h3>${name(branch, p)}</h3>`,
      `<p>${p.phase !== undefined ? `failed in step <code class="phase">${esc(p.phase)}</code>` : 'failed'}${p.host !== undefined ? ` on ${esc(p.host)}` : ''}${p.seconds !== undefined ? ` after ${esc(formatSeconds(p.seconds))}` : ''}${p.detail !== undefined ? `: ${esc(p.detail)}` : ''} ${logLinks(p, options)}</p>`,
      p.tail !== undefined && p.tail.length > 0 ? `<pre class="tail">${esc(p.tail.join('\n'))}</pre>` : '',
      '</article>',
    );
  }
  out.push('</section>');
}

function renderErrors(out: string[], data: ReportData): void {
  const errors = data.branches.flatMap((b) => b.errors.map((e) => ({ branch: b.name, e })));
  if (errors.length === 0) return;
  out.push(`<section id="errors"><h2>Publish and hook errors (${errors.length})</h2>`, ...errors.map(({ branch, e }) => `<pre class="error">${esc(branch)}: ${esc(e)}</pre>`), '</section>');
}

function renderBlastRadius(out: string[], data: ReportData): void {
  const rows = data.branches.flatMap((b) => b.blastRadius.filter((r) => r.heldBack.length > 0).map((r) => ({ branch: b.name, r })));
  if (rows.length === 0) return;
  rows.sort((a, b) => b.r.heldBack.length - a.r.heldBack.length);
  out.push('<section id="blast-radius"><h2>Blast radius</h2>', '<table><thead><tr><th>package</th><th>why</th><th>blocks</th><th>held back</th></tr></thead><tbody>');
  for (const { branch, r } of rows) {
    out.push(
      `<tr data-package="${esc(r.package)}"><td>${esc(branch)}/<b>${esc(r.package)}</b></td><td>${esc(r.cause)}${r.detail !== undefined ? `: ${esc(r.detail)}` : ''}</td><td class="blocks">${r.heldBack.length}</td><td class="held-back">${r.heldBack.map(esc).join(', ')}</td></tr>`,
    );
  }
  out.push('</tbody></table></section>');
}

interface Bar {
  readonly branch: string;
  readonly p: ReportPackage;
  readonly start: number;
  readonly end: number;
}

function renderTimeline(out: string[], data: ReportData): void {
  const t0 = Date.parse(data.startedAt);
  const tEnd = Date.parse(data.finishedAt ?? data.generatedAt);
  const byHost = new Map<string, Bar[]>();
  for (const b of data.branches) {
    for (const p of b.packages) {
      if (p.host === undefined || p.startedAt === undefined) continue;
      const start = Date.parse(p.startedAt);
      const end = p.finishedAt !== undefined ? Date.parse(p.finishedAt) : tEnd;
      if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
      const list = byHost.get(p.host) ?? [];
      list.push({ branch: b.name, p, start, end: Math.max(start, end) });
      byHost.set(p.host, list);
    }
  }
  if (byHost.size === 0) return;
  const span = Math.max(1, tEnd - t0);
  const pct = (ms: number): string => (Math.min(100, Math.max(0, (ms / span) * 100))).toFixed(2);
  out.push(`<section id="timeline"><h2>Timeline</h2><p class="axis">0s … ${esc(formatSeconds(span / 1000))}</p>`);
  for (const host of [...byHost.keys()].sort()) {
    const bars = byHost.get(host)!.sort((a, b) => a.start - b.start);
    // Builds at once on one host go on separate lanes.
    const laneEnds: number[] = [];
    const lanes: Bar[][] = [];
    for (const bar of bars) {
      let lane = laneEnds.findIndex((e) => e <= bar.start);
      if (lane === -1) {
        lane = laneEnds.length;
        laneEnds.push(0);
        lanes.push([]);
      }
      laneEnds[lane] = bar.end;
      lanes[lane]!.push(bar);
    }
    out.push(`<div class="host" data-host="${esc(host)}"><div class="host-name">${esc(host)}</div><div class="lanes">`);
    for (const lane of lanes) {
      out.push('<div class="lane">');
      for (const bar of lane) {
        const title = `${bar.branch}/${bar.p.package} ${bar.p.version ?? ''}: ${bar.p.status}, ${formatSeconds((bar.end - bar.start) / 1000)} from +${formatSeconds((bar.start - t0) / 1000)}`;
        out.push(
          `<div class="bar s-${bar.p.status}" data-package="${esc(bar.p.package)}" style="left:${pct(bar.start - t0)}%;width:${pct(Math.max(bar.end - bar.start, span / 500))}%" title="${esc(title)}">${esc(bar.p.package)}</div>`,
        );
      }
      out.push('</div>');
    }
    out.push('</div></div>');
  }
  out.push('</section>');
}

function renderSkipped(out: string[], data: ReportData): void {
  const skipped = data.branches.flatMap((b) => b.packages.filter((p) => p.status === 'skipped').map((p) => ({ branch: b.name, p })));
  if (skipped.length === 0) return;
  out.push(`<section id="skipped"><h2>Skipped (${skipped.length})</h2>`, '<table><thead><tr><th>package</th><th>reason</th><th>blocked by / why</th></tr></thead><tbody>');
  for (const { branch, p } of skipped) {
    const blocker = p.reason !== undefined && INHERITED.has(p.reason) && p.detail !== undefined ? `<a href="#pkg-${esc(encodeURIComponent(`${branch}/${p.detail}`))}">${esc(p.detail)}</a>` : esc(p.detail ?? '');
    out.push(`<tr data-package="${esc(p.package)}"><td>${name(branch, p)}</td><td>${esc(p.reason ?? '')}</td><td>${blocker}</td></tr>`);
  }
  out.push('</tbody></table></section>');
}

function renderPackages(out: string[], data: ReportData, options: RenderOptions): void {
  out.push('<section id="packages"><h2>Packages</h2>', '<table><thead><tr><th>package</th><th>status</th><th>reason</th><th>host</th><th>duration</th><th>log</th></tr></thead><tbody>');
  for (const b of data.branches) {
    const rank = (s: ReportStatus): number => STATUS_ORDER.indexOf(s);
    const sorted = [...b.packages].sort((x, y) => rank(x.status) - rank(y.status) || (x.package < y.package ? -1 : x.package > y.package ? 1 : 0));
    for (const p of sorted) {
      const reason = [p.reason, p.detail].filter((x) => x !== undefined).join(': ');
      out.push(
        `<tr id="pkg-${esc(encodeURIComponent(`${b.name}/${p.package}`))}" class="s-${p.status}" data-status="${p.status}" data-package="${esc(p.package)}"><td>${name(b.name, p)}</td><td class="status">${p.status}</td><td>${esc(reason)}</td><td>${esc(p.host ?? '')}</td><td>${p.seconds !== undefined ? esc(formatSeconds(p.seconds)) : ''}</td><td>${logLinks(p, options)}</td></tr>`,
      );
    }
  }
  out.push('</tbody></table></section>');
}

const CSS = `
:root{--built:#2e7d32;--failed:#c62828;--skipped:#9e9e9e;--removed:#6d4c41;--staged:#ef6c00;--running:#1565c0;--queued:#b0bec5}
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0}h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:.3em 0}
.when{color:#555}.live{color:var(--running)}.bad{color:var(--failed)}
.summary{display:flex;flex-wrap:wrap;gap:.6em;list-style:none;padding:0}
.count{padding:.3em .8em;border-radius:4px;background:#f3f3f3;border-left:5px solid #999}.count b{font-size:1.3em}
.s-built{border-color:var(--built)}.s-failed{border-color:var(--failed)}.s-skipped{border-color:var(--skipped)}.s-removed{border-color:var(--removed)}.s-staged{border-color:var(--staged)}.s-running{border-color:var(--running)}.s-queued{border-color:var(--queued)}
.failure{border-left:5px solid var(--failed);padding:.2em .8em;margin:.6em 0;background:#fff5f5}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all;max-height:24em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.2em .5em;border-bottom:1px solid #eee;vertical-align:top}
tr.s-failed td.status{color:var(--failed);font-weight:bold}tr.s-built td.status{color:var(--built)}tr.s-staged td.status{color:var(--staged)}tr.s-skipped td.status{color:#777}
.version{color:#666}.held-back{color:#555}
.host{display:flex;margin:.3em 0}.host-name{width:9em;flex:none;font-weight:bold;overflow:hidden;text-overflow:ellipsis}.lanes{flex:1;border-left:1px solid #ccc}
.lane{position:relative;height:20px;margin:2px 0;background:#fafafa}
.bar{position:absolute;top:1px;height:18px;font-size:11px;line-height:18px;color:#fff;overflow:hidden;white-space:nowrap;border-radius:2px;padding:0 2px;box-sizing:border-box}
.bar.s-built{background:var(--built)}.bar.s-failed{background:var(--failed)}.bar.s-staged{background:var(--staged)}.bar.s-running{background:var(--running)}.bar.s-skipped{background:var(--skipped)}
.axis{color:#777;font-size:12px}footer{margin-top:2em;color:#999;font-size:12px}
`.trim();
