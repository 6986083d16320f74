/** Renders a run result as text: failures first with their step and last lines, then counts. Pure. */
import { countStatuses, type RunResult } from '../run/runResult.js';
import { formatSeconds } from './format.js';

export function renderRunText(result: RunResult): string {
  const lines: string[] = [];
  for (const branch of result.branches) {
    for (const r of branch.results) {
      if (r.status !== 'failed') continue;
      lines.push(`FAILED ${branch.name}/${r.package} ${r.version ?? ''}${r.host !== undefined ? ` on ${r.host}` : ''}${r.phase !== undefined ? ` in step ${r.phase}` : ''}: ${r.detail ?? ''}`);
      if (r.log !== undefined) lines.push(`  log: ${r.log}`);
      for (const t of r.tail ?? []) lines.push(`  | ${t}`);
    }
    for (const error of branch.errors) lines.push(`ERROR ${branch.name}: ${error}`);
  }
  for (const branch of result.branches) {
    const c = { built: 0, failed: 0, skipped: 0, removed: 0, staged: 0 };
    for (const r of branch.results) c[r.status]++;
    lines.push(`branch ${branch.name}: ${c.built} built, ${c.failed} failed, ${c.skipped} skipped, ${c.removed} removed${c.staged > 0 ? `, ${c.staged} staged for review` : ''}`);
    for (const r of branch.results) {
      if (r.status === 'built') lines.push(`  built   ${r.package} ${r.version ?? ''} on ${r.host ?? '?'} in ${formatSeconds(r.seconds ?? 0)}${r.cached === true ? ' (kept from an interrupted run)' : ''}`);
      else if (r.status === 'skipped') lines.push(`  skipped ${r.package} ${r.version ?? ''} (${r.reason ?? ''}${r.detail !== undefined ? `: ${r.detail}` : ''})`);
      else if (r.status === 'staged') lines.push(`  staged  ${r.package} ${r.version ?? ''} on ${r.host ?? '?'} in ${formatSeconds(r.seconds ?? 0)} (${r.detail ?? 'awaiting review'}; buildfleet review show ${r.package})`);
      else if (r.status === 'removed') lines.push(`  removed ${r.package} ${r.version ?? ''} from ${r.repo ?? ''}`);
    }
  }
  const total = countStatuses(result);
  const seconds = (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000;
  lines.push(
    `run ${result.runId}${result.interrupted ? ' (interrupted)' : ''}: ${total.built} built, ${total.failed} failed, ${total.skipped} skipped, ${total.removed} removed${total.staged > 0 ? `, ${total.staged} staged for review` : ''} in ${formatSeconds(seconds)}`,
  );
  return `${lines.join('\n')}\n`;
}
