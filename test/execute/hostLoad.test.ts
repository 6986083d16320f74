/** Reading host loads: the loadavg formats, the local reader, and the per-interval cache of HostLoadMonitor. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/types.js';
import { HostLoadMonitor, loadReader, parseLoadAverage } from '../../src/execute/hostLoad.js';
import { LocalShell } from '../../src/execute/localTransport.js';
import { testdir } from '../helpers/testdir.js';

const localHost = (extra: Partial<HostConfig> = {}): HostConfig =>
  ({ name: 'local', transport: 'local', power: 1, labels: [], port: 22, workdir: '/tmp', file: 'hosts.yaml', position: { line: 1, col: 1 }, ...extra }) as HostConfig;

describe('parseLoadAverage', () => {
  it.each([
    ['0.52 0.41 0.38 2/345 6789\n', 0.52],
    ['12.00 11.5 9', 12],
    ['{ 1.25 0.98 0.77 }\n', 1.25],
    ['', undefined],
    ['-1 0 0', undefined],
    ['load: high', undefined],
  ])('%j -> %s', (text, load) => expect(parseLoadAverage(text)).toBe(load));
});

describe('loadReader on the local host', () => {
  it('reads /proc/loadavg, or the host loadFile', async () => {
    expect(await loadReader(localHost(), new LocalShell())()).toBeGreaterThanOrEqual(0);
    const dir = testdir({});
    writeFileSync(path.join(dir, 'load'), '6.25 1 1 1/1 1\n');
    expect(await loadReader(localHost({ loadFile: path.join(dir, 'load') }), new LocalShell())()).toBe(6.25);
  });
});

describe('HostLoadMonitor', () => {
  it('reads a host once per interval, and only the hosts asked for', async () => {
    let now = 0;
    const reads: string[] = [];
    const host = (name: string, intervalSeconds: number, load: number) => ({ name, maxLoad: 1, intervalSeconds, read: () => (reads.push(name), Promise.resolve(load)) });
    const monitor = new HostLoadMonitor([host('a', 10, 2), host('b', 0, 3)], { now: () => now });
    expect(await monitor.refresh()).toEqual(new Map([['a', 2], ['b', 3]]));
    now = 500;
    await monitor.refresh();
    expect(reads).toEqual(['a', 'b']);
    // an interval below 1s counts as 1s
    expect(monitor.msUntilStale(['a', 'b'])).toBe(500);
    now = 1000;
    await monitor.refresh(new Set(['a']));
    await monitor.refresh();
    expect(reads).toEqual(['a', 'b', 'b']);
    now = 10_000;
    await monitor.refresh(new Set(['a']));
    expect(reads).toEqual(['a', 'b', 'b', 'a']);
    expect(monitor.reads).toBe(4);
  });

  it('a read that takes too long leaves the load unknown for the interval, and is not read again meanwhile', async () => {
    let now = 0;
    let finish: (load: number) => void = () => undefined;
    const monitor = new HostLoadMonitor([{ name: 'slow', maxLoad: 1, intervalSeconds: 5, read: () => new Promise<number>((resolve) => (finish = resolve)) }], { now: () => now, readTimeoutSeconds: 0.05 });
    expect(await monitor.refresh()).toEqual(new Map([['slow', undefined]]));
    now = 100;
    expect(await monitor.refresh()).toEqual(new Map([['slow', undefined]]));
    expect(monitor.reads).toBe(1);
    finish(4);
    await new Promise((r) => setTimeout(r, 0));
    expect(await monitor.refresh()).toEqual(new Map([['slow', 4]]));
  });

  it('a failing read is an unknown load', async () => {
    const monitor = new HostLoadMonitor([{ name: 'x', maxLoad: 1, intervalSeconds: 5, read: () => Promise.reject(new Error('gone')) }]);
    expect(await monitor.refresh()).toEqual(new Map([['x', undefined]]));
  });
});
