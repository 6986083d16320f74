/** `buildfleet hosts` as text: one line per host, then its problems. */
import { describeIsolationSupport } from '../execute/isolation.js';
import type { HostsDocument } from '../run/probeHosts.js';

export function renderHostsText(doc: HostsDocument): string {
  const lines: string[] = [];
  const rows = doc.hosts.map((h) => [
    h.name,
    h.transport === 'ssh' ? (h.address ?? '') : 'local',
    String(h.power),
    h.reachable ? 'up' : 'DOWN',
    h.reachable ? `${h.latencyMs ?? 0} ms` : '-',
    `${h.load !== undefined ? h.load[0].toFixed(2) : '-'}${h.maxLoad !== undefined ? ` (max ${h.maxLoad})` : ''}`,
    String(h.running),
    String(h.roots.length),
    h.isolation === undefined ? '-' : h.isolation.overlay ? 'overlay' : 'none',
    h.quarantine !== undefined ? `until ${h.quarantine.until}` : h.consecutiveFailedRuns > 0 ? `no (${h.consecutiveFailedRuns} failed run${h.consecutiveFailedRuns > 1 ? 's' : ''})` : 'no',
  ]);
  const header = ['HOST', 'ADDRESS', 'POWER', 'STATE', 'LATENCY', 'LOAD', 'RUNNING', 'ROOTS', 'ISOLATION', 'QUARANTINE'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  lines.push(format(header), ...rows.map(format));
  for (const h of doc.hosts) {
    if (!h.reachable) lines.push(`${h.name}: ${h.error ?? 'unreachable'}`);
    if (h.quarantine?.message !== undefined) lines.push(`${h.name}: quarantined after ${h.quarantine.failedRuns} failed runs; last: ${h.quarantine.message}`);
    for (const root of h.roots) lines.push(`${h.name}: root ${root}`);
    if (h.isolation !== undefined) lines.push(`${h.name}: isolation ${describeIsolationSupport(h.isolation)}`);
  }
  if (doc.runInProgress) lines.push('a reconcile is running: RUNNING counts its builds');
  return `${lines.join('\n')}\n`;
}
