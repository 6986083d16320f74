/**
 * `buildfleet hosts`: reaches every host of the config at once and reports whether
 * it answers, how fast, its load, the builds running there (workspaces present
 * while a reconcile holds the lock), the prerequisite roots it caches and its
 * quarantine. Writes nothing.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config, HostConfig } from '../config/types.js';
import { probeIsolation, type IsolationSupport } from '../execute/isolation.js';
import { LocalShell } from '../execute/localTransport.js';
import { SshConnections } from '../execute/ssh/connections.js';
import { SshShell } from '../execute/ssh/sshShell.js';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS } from '../execute/ssh/sshTransport.js';
import type { HostShell } from '../execute/transport.js';
import { readHostState, quarantinedHosts } from './hostState.js';
import { LOCK_FILE } from './lock.js';

export const HOSTS_FORMAT_VERSION = 1;

export interface HostReport {
  readonly name: string;
  readonly transport: 'local' | 'ssh';
  /** `user@address:port` of SSH hosts. */
  readonly address?: string;
  readonly power: number;
  readonly labels: readonly string[];
  readonly reachable: boolean;
  /** Why the host could not be reached. */
  readonly error?: string;
  /** Milliseconds to connect (SSH; 0 for the local host). */
  readonly connectMs?: number;
  /** Milliseconds of one command's round trip once connected. */
  readonly latencyMs?: number;
  /** 1, 5 and 15-minute load averages (absent when they cannot be read: /proc/loadavg, `sysctl vm.loadavg` or the host's loadFile). */
  readonly load?: readonly [number, number, number];
  /** The host's `maxLoad`: above it, reconcile gives it no new builds. */
  readonly maxLoad?: number;
  /** Builds running there now (0 when no reconcile holds the lock). */
  readonly running: number;
  /** Installed prerequisite roots, as `<branch>/<key>`. */
  readonly roots: readonly string[];
  readonly consecutiveFailedRuns: number;
  /** Whether the host can run `isolation: overlay` builds (and as whom), or why not. */
  readonly isolation?: IsolationSupport;
  readonly quarantine?: { readonly until: string; readonly failedRuns: number; readonly message?: string };
}

export interface HostsDocument {
  readonly formatVersion: typeof HOSTS_FORMAT_VERSION;
  /** Whether a reconcile holds the lock on the state directory. */
  readonly runInProgress: boolean;
  readonly hosts: readonly HostReport[];
}

/** $1 the host's workdir, $2 `local` or `ssh`, $3 its loadFile or empty: load average, roots and workspaces, one section each. */
const PROBE = `cat "\${3:-/proc/loadavg}" 2>/dev/null || { [ -z "$3" ] && sysctl -n vm.loadavg 2>/dev/null; } || echo
echo ---
for d in "$1"/roots/*/*; do [ -d "$d" ] && echo "\${d#"$1"/roots/}"; done
echo ---
if [ "$2" = local ]; then set -- "$1"/*/work/*; else set -- "$1"/work/*/*; fi
for d in "$@"; do [ -d "$d" ] && echo x; done
exit 0`;

export async function probeHosts(config: Config, stateDir: string, options: { readonly env: Readonly<Record<string, string | undefined>> }): Promise<HostsDocument> {
  const health = readHostState(stateDir);
  const quarantined = quarantinedHosts(config, health, new Date());
  const runInProgress = existsSync(path.join(stateDir, LOCK_FILE));
  const hosts = await Promise.all(
    config.hosts.map(async (host): Promise<HostReport> => {
      const q = quarantined.get(host.name);
      const base = {
        name: host.name,
        transport: host.transport,
        ...(host.transport === 'ssh' ? { address: `${host.user ?? ''}@${host.address ?? ''}:${host.port}` } : {}),
        power: host.power,
        labels: host.labels,
        ...(host.maxLoad !== undefined ? { maxLoad: host.maxLoad } : {}),
        consecutiveFailedRuns: health.hosts[host.name]?.consecutiveFailedRuns ?? 0,
        ...(q !== undefined ? { quarantine: q } : {}),
      };
      const probed = await probe(host, stateDir, options.env);
      if (!probed.ok) return { ...base, reachable: false, error: probed.error, running: 0, roots: [] };
      return {
        ...base,
        reachable: true,
        connectMs: probed.connectMs,
        latencyMs: probed.latencyMs,
        ...(probed.load !== undefined ? { load: probed.load } : {}),
        running: runInProgress ? probed.workspaces : 0,
        roots: probed.roots,
        isolation: probed.isolation,
      };
    }),
  );
  return { formatVersion: HOSTS_FORMAT_VERSION, runInProgress, hosts };
}

type Probe =
  | { readonly ok: false; readonly error: string }
  | { readonly ok: true; readonly connectMs: number; readonly latencyMs: number; readonly load?: [number, number, number]; readonly roots: string[]; readonly workspaces: number; readonly isolation: IsolationSupport };

async function probe(host: HostConfig, stateDir: string, env: Readonly<Record<string, string | undefined>>): Promise<Probe> {
  let shell: HostShell;
  let connections: SshConnections | undefined;
  let connectMs = 0;
  if (host.transport === 'local') {
    shell = new LocalShell();
  } else {
    connections = new SshConnections({ host, env, connectTimeoutSeconds: host.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS });
    const started = performance.now();
    try {
      await connections.connect();
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
    connectMs = Math.round(performance.now() - started);
    shell = new SshShell(connections);
  }
  try {
    const started = performance.now();
    const result = await shell.exec(['sh', '-c', PROBE, 'buildfleet-probe', host.transport === 'local' ? stateDir : host.workdir, host.transport, host.loadFile ?? ''], { timeoutSeconds: 30 });
    const latencyMs = Math.round(performance.now() - started);
    if (result.code !== 0) return { ok: false, error: `the probe failed (exit ${result.code}): ${result.stderr.trim()}` };
    const [loadText = '', rootsText = '', workText = ''] = result.stdout.split('---\n');
    const numbers = loadText.trim().replace(/^\{\s*/, '').split(/\s+/).slice(0, 3).map(Number);
    const load = numbers.length === 3 && numbers.every(Number.isFinite) ? (numbers as [number, number, number]) : undefined;
    // The local host is probed in the temporary directory, so that `hosts` leaves the state directory as it was.
    const isolation = await probeIsolation(shell, host.transport === 'local' ? tmpdir() : host.workdir);
    return {
      ok: true,
      isolation,
      connectMs,
      latencyMs,
      ...(load !== undefined ? { load } : {}),
      roots: rootsText.split('\n').filter((l) => l !== ''),
      workspaces: workText.split('\n').filter((l) => l === 'x').length,
    };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    await connections?.close();
  }
}
