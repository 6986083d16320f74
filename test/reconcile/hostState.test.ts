/**
 * readHostState: `<state>/hosts.json` is advisory, so a damaged file or record is no history —
 * never a host kept in quarantine for good.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { HOST_STATE_FILE, quarantinedHosts, readHostState } from '../../src/run/hostState.js';
import { BASE_HOSTS, baseConfig, testdir } from '../helpers/testdir.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const GOOD = { consecutiveFailedRuns: 3, lastFailure: { at: '2026-11-24T11:00:00Z', runId: 'r1', message: 'unreachable' }, quarantinedUntil: '2026-11-24T13:00:00Z' };

function stateOf(hosts: unknown): ReturnType<typeof readHostState> {
  const dir = testdir({});
  writeFileSync(path.join(dir, HOST_STATE_FILE), JSON.stringify({ formatVersion: 1, hosts }));
  return readHostState(dir);
}

describe('readHostState', () => {
  it('keeps well-formed records and drops damaged ones', () => {
    const state = stateOf({
      good: GOOD,
      never: { consecutiveFailedRuns: 0 },
      noDate: { ...GOOD, quarantinedUntil: 'soon' },
      numberDate: { ...GOOD, quarantinedUntil: 1 },
      textCount: { ...GOOD, consecutiveFailedRuns: '3' },
      negative: { ...GOOD, consecutiveFailedRuns: -1 },
      badFailure: { ...GOOD, lastFailure: { at: 1 } },
      nullRecord: null,
      list: [GOOD],
    });
    expect(Object.keys(state.hosts)).toEqual(['good', 'never']);
    expect(state.hosts.good).toEqual(GOOD);
  });

  it('reads a file that is not JSON, or of another shape, as no history', () => {
    const dir = testdir({});
    for (const text of ['{garbage', 'null', '[]', '{"formatVersion":1,"hosts":[]}', '{"formatVersion":2,"hosts":{}}']) {
      writeFileSync(path.join(dir, HOST_STATE_FILE), text);
      expect(readHostState(dir).hosts).toEqual({});
    }
  });

  it('quarantines a host until its date, and a record without a date nowhere', () => {
    const { config } = loadConfig(testdir({ ...baseConfig(), 'hosts.yaml': `${BASE_HOSTS}quarantine: { after: 2, for: 1h }\n` }));
    expect(quarantinedHosts(config!, stateOf({ local: GOOD }), NOW)).toEqual(new Map([['local', { until: GOOD.quarantinedUntil, failedRuns: 3, message: 'unreachable' }]]));
    // Before: "soon" was no date, so never past, and the host stayed quarantined until the file was edited.
    expect(quarantinedHosts(config!, stateOf({ local: { ...GOOD, quarantinedUntil: 'soon' } }), NOW)).toEqual(new Map());
    expect(quarantinedHosts(config!, stateOf({ local: GOOD }), new Date('2026-11-24T13:00:01Z'))).toEqual(new Map());
  });
});
