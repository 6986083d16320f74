/**
 * How a run tells a lost build from a lost host: after a build is lost on an SSH
 * host, the host is down for the run when it cannot be reached again. Every SSH
 * host is connected to at the start of a run, so that each run counts for its health.
 */
import { SshTransport } from '../execute/ssh/sshTransport.js';
import type { Transport } from '../execute/transport.js';

/**
 * Starts connecting to every SSH host at once, so that builds find the connection ready,
 * and cleaning what a dead run left there; settles when every attempt has.
 */
export async function warmUp(transports: Iterable<Transport>): Promise<void> {
  const attempts: Promise<unknown>[] = [];
  for (const t of transports) {
    if (t instanceof SshTransport) attempts.push(t.connections.connect().then(() => t.cleanStaleWorkspaces(), () => undefined));
  }
  await Promise.all(attempts);
}

/** Why the host of a lost build is down (it cannot be reached now), or undefined when it is up. */
export async function hostDownReason(transport: Transport): Promise<string | undefined> {
  if (!(transport instanceof SshTransport)) return undefined;
  const { connections } = transport;
  if (connections.connected) return undefined;
  try {
    await connections.connect();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The SSH hosts that failed in this run (down at some point, or never reached) and those that worked throughout. */
export function hostOutcomes(transports: Iterable<Transport>, downDuringRun: ReadonlyMap<string, string>): { failed: Map<string, string>; worked: Set<string> } {
  const failed = new Map(downDuringRun);
  const worked = new Set<string>();
  for (const t of transports) {
    if (!(t instanceof SshTransport) || failed.has(t.hostName)) continue;
    if (t.connections.opened > 0) worked.add(t.hostName);
    else if (t.connections.lastFailure !== undefined) failed.set(t.hostName, t.connections.lastFailure.error.message);
  }
  return { failed, worked };
}
