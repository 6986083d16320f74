/** The SSH connections and HostShell against real sshd servers on loopback. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig, HostName } from '../../src/config/types.js';
import { SshConnections } from '../../src/execute/ssh/connections.js';
import { runRemoteStep } from '../../src/execute/ssh/remoteStep.js';
import { SshShell } from '../../src/execute/ssh/sshShell.js';
import { silentServer, startSshFleet, type SshFleet, type SshdHost } from '../helpers/sshd.js';

function hostConfig(fleet: SshFleet, h: SshdHost, over: Partial<HostConfig> = {}): HostConfig {
  return {
    name: h.name as HostName,
    transport: 'ssh',
    power: 1,
    labels: [],
    address: h.address,
    port: h.port,
    user: fleet.user,
    identityFile: fleet.identityFile,
    knownHostsFile: fleet.knownHostsFile,
    workdir: h.workdir,
    file: 'hosts.yaml',
    position: { line: 1, col: 1 },
    ...over,
  };
}

function connections(fleet: SshFleet, h: SshdHost, over: Partial<HostConfig> = {}, timeout = 5): SshConnections {
  return new SshConnections({ host: hostConfig(fleet, h, over), env: {}, connectTimeoutSeconds: timeout });
}

describe('SSH connections to real sshd', () => {
  let fleet: SshFleet;
  beforeAll(async () => {
    fleet = await startSshFleet({ hosts: 2, maxSessions: 2, hashKnownHosts: true });
  });
  afterAll(async () => fleet?.stop());

  it('runs argv without shell interpretation (hashed known_hosts entry)', async () => {
    const conns = connections(fleet, fleet.hosts[0]!);
    const shell = new SshShell(conns);
    const tricky = ["it's", '$HOME', '`id`', 'a b', '', '*', '"q"', 'semi;colon', 'new\nline'];
    const result = await shell.exec(['printf', '%s|', ...tricky]);
    expect(result).toEqual({ code: 0, stdout: `${tricky.join('|')}|`, stderr: '' });
    expect((await shell.exec(['sh', '-c', 'echo oops >&2; exit 7'])).code).toBe(7);
    await conns.close();
  });

  it('gets the exit status of a command whose reply, output, exit and close come in one read', async () => {
    // Blocking the event loop while the server answers makes its packets wait in the socket and
    // arrive together: ssh2 then handles the exec's reply and the exit in one go, before the code
    // that asked for the channel runs again. An exit listener added only then missed the exit,
    // and the command counted as dropped (exit 255) — a host's load read as unknown.
    const conns = connections(fleet, fleet.hosts[1]!);
    const shell = new SshShell(conns);
    expect((await shell.exec(['true'])).code).toBe(0); // connected, so that only the exec is timed
    const block = (ms: number): void => {
      const until = Date.now() + ms;
      while (Date.now() < until);
    };
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const pending = shell.exec(['sh', '-c', 'echo out; exit 3']);
      // The channel opens, then the exec request goes out; block after each of those turns.
      const blocker = setInterval(() => block(40), 1);
      const result = await pending.finally(() => clearInterval(blocker));
      expect(result.stdout).toBe('out\n');
      codes.push(result.code);
    }
    expect(codes).toEqual(new Array(12).fill(3));
    await conns.close();
  });

  it('gets the exit status of a short build step the same way', async () => {
    const h = fleet.hosts[1]!;
    const conns = connections(fleet, h);
    const workspace = path.join(h.workdir, 'ws-short-step');
    mkdirSync(path.join(workspace, 'build'), { recursive: true });
    await new SshShell(conns).exec(['true']);
    const block = (ms: number): void => {
      const until = Date.now() + ms;
      while (Date.now() < until);
    };
    const outcomes: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const output: Buffer[] = [];
      const pending = runRemoteStep({ connections: conns, workspace, run: 'echo built; exit 4', stepName: 'build', env: {}, timeoutSeconds: 30, graceSeconds: 1, onOutput: (c) => output.push(c) });
      const blocker = setInterval(() => block(40), 1);
      outcomes.push(await pending.finally(() => clearInterval(blocker)));
      expect(Buffer.concat(output).toString()).toBe('built\n');
    }
    expect(outcomes).toEqual(new Array(6).fill({ kind: 'exit-non-zero', exitCode: 4 }));
    await conns.close();
  });

  it('uploads a file whole, replacing an existing one', async () => {
    const h = fleet.hosts[0]!;
    const shell = new SshShell(connections(fleet, h));
    const local = path.join(fleet.dir, 'payload');
    writeFileSync(local, 'x'.repeat(300_000));
    const remote = path.join(h.workdir, 'payload.bin');
    writeFileSync(remote, 'old');
    await shell.upload(local, remote);
    expect(readFileSync(remote, 'utf8')).toBe('x'.repeat(300_000));
    const listing = await shell.exec(['ls', '-a', h.workdir]);
    expect(listing.stdout).not.toContain('partial');
  });

  it('opens a second connection when the server refuses more sessions (MaxSessions 2)', async () => {
    const conns = connections(fleet, fleet.hosts[1]!);
    const shell = new SshShell(conns);
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => shell.exec(['sh', '-c', `sleep 0.3; echo ${i}`])));
    expect(results.map((r) => r.stdout.trim())).toEqual(['1', '2', '3', '4', '5']);
    expect(conns.opened).toBeGreaterThanOrEqual(2);
    await conns.close();
  });

  it('refuses an unknown host key and says how to add it', async () => {
    const h = fleet.hosts[0]!;
    const empty = path.join(fleet.dir, 'empty_known_hosts');
    writeFileSync(empty, '# nothing\n');
    const conns = connections(fleet, h, { knownHostsFile: empty });
    await expect(conns.connect()).rejects.toThrow(`host key of [${h.address}]:${h.port} is not in ${empty}`);
    await expect(conns.connect()).rejects.toThrow(`ssh-keyscan -p ${h.port} ${h.address} >> ${empty}`);
    expect(conns.lastFailure?.error.kind).toBe('host-key');
  });

  it('refuses a changed host key and says how to replace it', async () => {
    const h = fleet.hosts[0]!;
    const other = path.join(fleet.dir, 'other_known_hosts');
    // The right host name with the other host's key: the key has "changed".
    writeFileSync(other, `[${h.address}]:${h.port} ${fleet.hosts[1]!.publicKey}\n`);
    const conns = connections(fleet, h, { knownHostsFile: other });
    const error = await conns.connect().then(() => null, (e: Error) => e);
    expect(error?.message).toContain(`host key of [${h.address}]:${h.port} has CHANGED`);
    expect(error?.message).toContain(`ssh-keygen -R '[${h.address}]:${h.port}' -f ${other}`);
    expect(conns.connected).toBe(false);
  });

  it('gives up on a closed port and on a server that never answers within the connect timeout', async () => {
    const h = fleet.hosts[0]!;
    const closed = connections(fleet, h, { port: 1 });
    await expect(closed.connect()).rejects.toThrow(/cannot connect .*ECONNREFUSED/);
    const silent = await silentServer();
    try {
      const knownHosts = path.join(fleet.dir, 'silent_known_hosts');
      writeFileSync(knownHosts, '');
      const conns = connections(fleet, h, { address: '127.0.0.1', port: silent.port, knownHostsFile: knownHosts }, 1);
      // The message comes from the connect timer, so the attempt ended at connectTimeout, not at a TCP error.
      await expect(conns.connect()).rejects.toThrow('did not answer within 1s (connectTimeout)');
    } finally {
      await silent.close();
    }
  });
});
