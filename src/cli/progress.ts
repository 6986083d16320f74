/**
 * Progress of a run: on a terminal, one status line redrawn in place (built,
 * failed, remaining, running builds per host, ETA); elsewhere one structured log
 * line per event.
 */
import type { Logger } from 'pino';
import type { RunEvents } from '../run/reconcile.js';
import { formatSeconds } from '../report/format.js';

export function createProgress(log: Logger, tty: NodeJS.WriteStream | null): RunEvents & { finish(): void } {
  let total = 0;
  let built = 0;
  let failed = 0;
  let estimateSeconds = 0;
  let started = 0;
  const running = new Map<string, string[]>();
  let lastDraw = 0;
  const draw = (force = false): void => {
    if (tty === null) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const done = built + failed;
    const elapsed = (now - started) / 1000;
    const eta = Math.max(0, estimateSeconds - elapsed);
    const hosts = [...running.entries()]
      .filter(([, list]) => list.length > 0)
      .map(([host, list]) => `${host}: ${list.join(' ')}`)
      .join(' | ');
    const line = `[${done}/${total}] built ${built}, failed ${failed}, remaining ${total - done}${eta > 0 ? `, ETA ${formatSeconds(eta)}` : ''}${hosts !== '' ? ` — ${hosts}` : ''}`;
    tty.write(`\r\x1b[2K${line.slice(0, (tty.columns || 120) - 1)}`);
  };
  return {
    planned(plan, runId) {
      started = Date.now();
      total = plan.branches.reduce((n, b) => n + b.actions.filter((a) => a.type === 'build').length, 0);
      estimateSeconds = Math.max(0, ...plan.branches.map((b) => b.estimate.makespanSeconds));
      log.info({ event: 'run-started', runId, builds: total, estimateSeconds }, `run ${runId}: ${total} build(s) planned`);
      draw(true);
    },
    buildStarted(e) {
      const list = running.get(e.host) ?? [];
      list.push(e.package);
      running.set(e.host, list);
      if (tty === null) log.info({ event: 'build-started', ...e }, `building ${e.branch}/${e.package} ${e.version} on ${e.host}`);
      draw();
    },
    buildFinished(e) {
      const r = e.result;
      if (r.host !== undefined) running.set(r.host, (running.get(r.host) ?? []).filter((p) => p !== r.package));
      if (r.status === 'built') built++;
      else failed++;
      const message = `${r.status} ${e.branch}/${r.package} ${r.version ?? ''}${r.seconds !== undefined ? ` in ${r.seconds}s` : ''}${r.detail !== undefined ? `: ${r.detail}` : ''}`;
      if (tty !== null) {
        tty.write('\r\x1b[2K');
        if (r.status !== 'built') log.warn({ event: 'build-finished', branch: e.branch, ...r, tail: undefined }, message);
      } else if (r.status === 'built') log.info({ event: 'build-finished', branch: e.branch, ...r }, message);
      else log.warn({ event: 'build-finished', branch: e.branch, ...r, tail: undefined }, message);
      draw(true);
    },
    published(e) {
      if (tty !== null) tty.write('\r\x1b[2K');
      log.info({ event: 'published', ...e }, `published to ${e.branch}/${e.repo}: ${e.added} added, ${e.removed} removed${e.signed !== undefined && e.signed > 0 ? `, ${e.signed} signed` : ''}`);
    },
    warning(message) {
      if (tty !== null) tty.write('\r\x1b[2K');
      log.warn({ event: 'warning' }, message);
      draw(true);
    },
    note(message, data) {
      if (tty !== null) tty.write('\r\x1b[2K');
      log.info({ event: 'note', ...data }, message);
      draw(true);
    },
    finish() {
      if (tty !== null) tty.write('\r\x1b[2K');
    },
  };
}
