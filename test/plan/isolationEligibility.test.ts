import { describe, expect, it } from 'vitest';
import { computeBranchPlan, hostsForIsolation, type HostCapabilities } from '../../src/plan/computeBranchPlan.js';
import type { BranchPlan } from '../../src/plan/types.js';
import { fingerprintOf, fingerprintsOf, graphOf, observed, recipe, repoEntry } from '../helpers/model.js';

const HOSTS = [
  { name: 'a', power: 2, labels: [], up: true },
  { name: 'b', power: 1, labels: [], up: true },
];
const RECIPES = [recipe('libc', { version: '2.40' }), recipe('zlib', { version: '1.3.1', depends: ['libc'] }), recipe('app', { version: '1.0', depends: ['zlib'] })];

function plan(capabilities: Record<string, HostCapabilities>, options: { published?: boolean } = {}): BranchPlan {
  const graph = graphOf(RECIPES);
  const fingerprints = fingerprintsOf(graph);
  const entries = options.published === true ? [repoEntry('libc', '2.40-1', fingerprintOf(fingerprints, RECIPES[0]!.id).fingerprint)] : [];
  return computeBranchPlan({
    branch: { name: 'main', duds: [], repos: [{ name: 'main', packages: ['*'], prune: true }] },
    graph,
    invalid: [],
    fingerprints,
    observed: observed({ main: entries }),
    hosts: HOSTS,
    isolation: 'overlay',
    capabilities: new Map(Object.entries(capabilities)),
  });
}

const summary = (p: BranchPlan): string[] => p.actions.map((a) => `${a.type} ${a.package} ${a.reason}${a.type === 'skip' && a.blocks > 0 ? ` (blocks ${a.blocks})` : ''}`);

describe('planning an overlay-isolated branch', () => {
  it('builds on the hosts that support overlay isolation, and estimates over them alone', () => {
    const both = plan({ a: { overlay: true }, b: { overlay: true } });
    const one = plan({ a: { overlay: false, reason: 'bwrap not found' }, b: { overlay: true } });
    expect(summary(one)).toEqual(['build libc new', 'build zlib new', 'build app new']);
    // b alone (power 1) builds the chain no faster, but the estimate is over b only.
    expect(one.estimate.makespanSeconds).toBe(both.estimate.makespanSeconds);
  });

  it('skips every build with no-eligible-host and the reason per host when none supports it', () => {
    const p = plan({ a: { overlay: false, reason: 'bwrap not found (install bubblewrap; overlay isolation is Linux only)' } }, { published: true });
    expect(summary(p)).toEqual(['skip app no-eligible-host', 'skip zlib no-eligible-host (blocks 1)']);
    expect(p.actions[0]).toMatchObject({
      detail: 'the pipeline needs overlay isolation, which no eligible host supports (a: bwrap not found (install bubblewrap; overlay isolation is Linux only); b: not checked)',
    });
    expect(p.upToDate).toBe(1);
    expect(p.estimate).toEqual({ makespanSeconds: 0, lowerBoundSeconds: 0 });
  });

  it('leaves branches without isolation alone', () => {
    expect(hostsForIsolation(HOSTS, 'none', new Map())).toEqual({ hosts: HOSTS });
    expect(hostsForIsolation(HOSTS, 'overlay', new Map([['b', { overlay: true }]]))).toEqual({ hosts: [HOSTS[1]] });
  });
});
