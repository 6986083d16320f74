/**
 * Renders a plan as text (Terraform-like, one line per action), JSON (the
 * DESIGN.md document) or Markdown (a summary table and collapsible details, to
 * post on a pull request). Pure.
 */
import { describeViolation } from '../plan/guards.js';
import type { BranchPlan, BuildAction, Plan, PlanAction, PrerequisitePlan, QuarantinedHost, RemoveAction, SkipAction } from '../plan/types.js';
import { formatSeconds, plural } from './format.js';

export type PlanFormat = 'text' | 'json' | 'markdown';

export function renderPlan(plan: Plan, format: PlanFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(plan, null, 2)}\n`;
    case 'markdown':
      return renderMarkdown(plan);
    case 'text':
      return renderText(plan);
  }
}

interface Counts {
  build: number;
  skip: number;
  remove: number;
  upToDate: number;
}

function countActions(branch: BranchPlan): Counts {
  const counts: Counts = { build: 0, skip: 0, remove: 0, upToDate: branch.upToDate };
  for (const action of branch.actions) counts[action.type]++;
  return counts;
}

function total(plan: Plan): Counts {
  const sum: Counts = { build: 0, skip: 0, remove: 0, upToDate: 0 };
  for (const branch of plan.branches) {
    const c = countActions(branch);
    sum.build += c.build;
    sum.skip += c.skip;
    sum.remove += c.remove;
    sum.upToDate += c.upToDate;
  }
  return sum;
}

/** `+` new, `~` rebuild, `-` remove, `!` skip. */
export function actionSymbol(action: PlanAction): string {
  if (action.type === 'build') return action.reason === 'new' ? '+' : '~';
  if (action.type === 'remove') return '-';
  return '!';
}

function describe(action: PlanAction): string {
  switch (action.type) {
    case 'build':
      return describeBuild(action);
    case 'skip':
      return describeSkip(action);
    case 'remove':
      return describeRemove(action);
  }
}

function describeBuild(a: BuildAction): string {
  const produced = a.packages.length > 1 || a.packages[0] !== a.package ? ` [${a.packages.join(', ')}]` : '';
  const review = a.review !== undefined ? ` [staged for review: ${a.review}]` : '';
  const range = a.sourceRange !== undefined ? `; commits ${shortRange(a.sourceRange)}` : '';
  return `build ${a.package} ${a.version}${produced} -> ${a.repo}  (${a.reason}${a.detail !== undefined ? `: ${a.detail}` : ''}${range})${review}`;
}

/** `from..to` with both commits shortened to 12 digits. */
function shortRange(range: string): string {
  return range
    .split('..')
    .map((c) => c.slice(0, 12))
    .join('..');
}

function describeSkip(a: SkipAction): string {
  const blocks = a.blocks > 0 ? `; blocks ${plural(a.blocks, 'package')}` : '';
  return `skip  ${a.package}${a.version !== undefined ? ` ${a.version}` : ''}  (${a.reason}${a.detail !== undefined ? `: ${a.detail}` : ''}${blocks})`;
}

function describeRemove(a: RemoveAction): string {
  return `remove ${a.package} ${a.version} from ${a.repo}  (${a.reason})`;
}

/** `bindist 1a2b3c4d5e6f, motif 0f9e8d7c6b5a (root 5e4d3c2b1a09): install on h1, h2; replace on h3; installed on local`. */
export function describePrerequisites(p: PrerequisitePlan): string {
  const tarballs = p.tarballs.map((t) => `${t.name} ${t.sha256.slice(0, 12)}`).join(', ');
  const root = p.tarballs.length > 1 ? ` (root ${p.root.slice(0, 12)})` : '';
  const groups = (['install', 'replace', 'installed'] as const)
    .map((status) => [status, p.hosts.filter((h) => h.status === status).map((h) => h.host)] as const)
    .filter(([, hosts]) => hosts.length > 0)
    .map(([status, hosts]) => `${status} on ${hosts.join(', ')}`);
  return `${tarballs}${root}: ${groups.length > 0 ? groups.join('; ') : 'no eligible host'}`;
}

function summaryLine(c: Counts): string {
  return `${c.build} to build, ${c.remove} to remove, ${c.skip} skipped, ${c.upToDate} up to date`;
}

/** `h1 until 2026-…Z (failed in 3 consecutive runs; last: …)`. */
export function describeQuarantine(q: QuarantinedHost): string {
  return `${q.host} until ${q.until} (failed in ${q.failedRuns} consecutive runs${q.lastError !== undefined ? `; last: ${q.lastError}` : ''})`;
}

function renderText(plan: Plan): string {
  const lines: string[] = [];
  for (const q of plan.quarantinedHosts ?? []) lines.push(`quarantined host ${describeQuarantine(q)}: no builds there`);
  if ((plan.quarantinedHosts ?? []).length > 0) lines.push('');
  for (const branch of plan.branches) {
    const c = countActions(branch);
    lines.push(`branch ${branch.name}${branch.sourceCommit !== undefined ? ` (source ${branch.sourceCommit.slice(0, 12)})` : ''}: ${summaryLine(c)}`);
    for (const v of branch.guardViolations ?? []) lines.push(`  GUARD: ${describeViolation(v)}; reconcile refuses this plan without --allow-large`);
    for (const action of branch.actions) lines.push(`  ${actionSymbol(action)} ${describe(action)}`);
    if (branch.prerequisites !== undefined) lines.push(`  prerequisites ${describePrerequisites(branch.prerequisites)}`);
    if (c.build > 0) {
      lines.push(`  estimate: ${formatSeconds(branch.estimate.makespanSeconds)} (lower bound ${formatSeconds(branch.estimate.lowerBoundSeconds)})`);
    }
    lines.push('');
  }
  const t = total(plan);
  lines.push(t.build + t.remove === 0 ? `No changes. ${summaryLine(t)}.` : `Plan: ${summaryLine(t)}.`);
  return `${lines.join('\n')}\n`;
}

function cell(text: string | number | undefined): string {
  return String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function renderMarkdown(plan: Plan): string {
  const t = total(plan);
  const out: string[] = [];
  out.push('### buildfleet plan', '');
  out.push(t.build + t.remove === 0 ? `**No changes.** ${summaryLine(t)}.` : `**Plan:** ${summaryLine(t)}.`, '');
  for (const q of plan.quarantinedHosts ?? []) out.push('> [!WARNING]', `> quarantined host ${escapeHtml(describeQuarantine(q))}: no builds there.`, '');
  for (const branch of plan.branches) {
    for (const v of branch.guardViolations ?? []) out.push(`> [!WARNING]`, `> **${escapeHtml(branch.name)}**: ${escapeHtml(describeViolation(v))}; \`reconcile\` refuses this plan without \`--allow-large\`.`, '');
  }
  const sources = plan.branches.filter((b) => b.sourceCommit !== undefined);
  if (sources.length > 0) out.push(`Source commits: ${sources.map((b) => `${escapeHtml(b.name)} \`${b.sourceCommit!.slice(0, 12)}\``).join(', ')}`, '');
  out.push('| branch | build | remove | skipped | up to date | estimate |', '|---|---:|---:|---:|---:|---:|');
  for (const branch of plan.branches) {
    const c = countActions(branch);
    out.push(`| ${cell(branch.name)} | ${c.build} | ${c.remove} | ${c.skip} | ${c.upToDate} | ${c.build > 0 ? formatSeconds(branch.estimate.makespanSeconds) : '–'} |`);
  }
  const withPrerequisites = plan.branches.filter((b) => b.prerequisites !== undefined);
  if (withPrerequisites.length > 0) out.push('');
  for (const branch of withPrerequisites) out.push(`- prerequisites of **${escapeHtml(branch.name)}**: ${cell(describePrerequisites(branch.prerequisites!))}`);
  for (const branch of plan.branches) {
    if (branch.actions.length === 0) continue;
    const c = countActions(branch);
    out.push('', `<details><summary><b>${escapeHtml(branch.name)}</b>: ${summaryLine(c)}</summary>`, '');
    out.push('| | action | package | version | repo | reason | detail |', '|---|---|---|---|---|---|---|');
    for (const a of branch.actions) {
      const repo = a.type === 'skip' ? '' : a.repo;
      const detail =
        a.type === 'skip'
          ? [a.detail, a.blocks > 0 ? `blocks ${a.blocks}` : undefined].filter((x) => x !== undefined).join('; ')
          : a.type === 'build'
            ? [a.detail, a.sourceRange !== undefined ? `commits ${shortRange(a.sourceRange)}` : undefined].filter((x) => x !== undefined).join('; ')
            : '';
      out.push(`| \`${actionSymbol(a)}\` | ${a.type} | ${cell(a.package)} | ${cell(a.version)} | ${cell(repo)} | ${cell(a.reason)} | ${cell(detail)} |`);
    }
    out.push('', '</details>');
  }
  return `${out.join('\n')}\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
