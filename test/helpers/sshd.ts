/**
 * Real OpenSSH servers on loopback for tests: each host is an `sshd -D -e` of its
 * own on 127.0.0.x with a generated host key, a free port, a temporary work
 * directory, and the fleet's client key in its authorized keys. Everything lives
 * in one temporary directory and is removed by `stop()`.
 *
 * ```ts
 * const fleet = await startSshFleet({ hosts: 3, maxSessions: 2 });
 * onTestFinished(() => fleet.stop());
 * fleet.hostsYaml([{ power: 1 }, { power: 2 }, { power: 4 }]);   // ssh entries for hosts.yaml
 * await fleet.hosts[1]!.crash();                                  // the machine "dies"
 * ```
 * Works as root (sshd then needs /run/sshd, made here when missing) and as an
 * ordinary user (the servers only accept logins as that user).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';

/** Loopback addresses of the hosts, in order (Linux routes all of 127/8 to lo). */
export const LOOPBACK_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

export interface SshFleetOptions {
  /** Number of hosts (default 3, at most {@link LOOPBACK_ADDRESSES}.length). */
  readonly hosts?: number;
  /** OpenSSH `MaxSessions` of every server (default 10, OpenSSH's own default). */
  readonly maxSessions?: number;
  /** Write the known_hosts file with hashed host names (`ssh-keygen -H`). Default false. */
  readonly hashKnownHosts?: boolean;
}

export interface SshdHost {
  /** `h1`, `h2`, … */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Absolute work directory of the host (`workdir` in hosts.yaml). */
  readonly workdir: string;
  /** `ssh-ed25519 AAAA…` of the host key. */
  readonly publicKey: string;
  /** Whether sshd is running. */
  readonly running: boolean;
  /** Starts sshd again (same port and host key) after `crash()` or `stopServer()`. */
  start(): Promise<void>;
  /**
   * The machine dies: sshd and every session it forked are SIGKILLed, and so are the
   * processes still running in the host's workdir (builds run in sessions of their own).
   */
  crash(): Promise<void>;
  /** Generates a new host key (the known_hosts entry no longer matches); restart to use it. */
  replaceHostKey(): Promise<void>;
}

export interface SshFleet {
  readonly hosts: readonly SshdHost[];
  /** Temporary directory holding keys, configs and workdirs. */
  readonly dir: string;
  /** The login user (the user running the tests). */
  readonly user: string;
  /** Private key the servers accept (no passphrase). */
  readonly identityFile: string;
  /** known_hosts with every host's key as `[address]:port`. */
  readonly knownHostsFile: string;
  /**
   * `hosts:` entries for hosts.yaml, one per host of the fleet in order (fewer specs: fewer
   * entries), with absolute paths. Each spec may set power, labels and extra YAML lines.
   */
  hostsYaml(specs: readonly HostSpec[]): string;
  /** Stops every sshd and removes the directory. */
  stop(): Promise<void>;
}

export interface HostSpec {
  readonly power?: number;
  readonly labels?: readonly string[];
  /** Extra keys of the host entry, e.g. `['connectTimeout: 2s']`. */
  readonly extra?: readonly string[];
}

/** A TCP port nobody listens on right now at `address`. */
export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A TCP server that accepts connections and never says anything: an SSH client
 * connecting to it waits for the server's banner until its own timeout.
 */
export async function silentServer(address = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function keygen(file: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', file], { stdio: 'ignore' });
  return readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

class Host implements SshdHost {
  private child: ChildProcess | undefined;
  private readonly hostKey: string;
  private readonly config: string;
  publicKey: string;

  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    private readonly dir: string,
    readonly workdir: string,
    options: { authorizedKeys: string; maxSessions: number },
  ) {
    mkdirSync(dir, { recursive: true });
    mkdirSync(workdir, { recursive: true });
    this.hostKey = path.join(dir, 'ssh_host_ed25519_key');
    this.publicKey = keygen(this.hostKey);
    this.config = path.join(dir, 'sshd_config');
    writeFileSync(
      this.config,
      [
        `Port ${port}`,
        `ListenAddress ${address}`,
        `HostKey ${this.hostKey}`,
        'PidFile none',
        `AuthorizedKeysFile ${options.authorizedKeys}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        `MaxSessions ${options.maxSessions}`,
        'MaxStartups 200',
        'Subsystem sftp internal-sftp',
        'LogLevel INFO',
        // bash sources ~/.bashrc for commands run by sshd when SHLVL < 2; a heavy .bashrc
        // (pyenv, nvm) would cost seconds per channel. Builds get a clean environment anyway.
        'SetEnv SHLVL=1',
        '',
      ].join('\n'),
    );
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    // detached: sshd and the sessions it forks share a process group that crash() kills at once.
    const child = spawn(SSHD, ['-D', '-e', '-f', this.config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd ${this.name} did not start within 10s:\n${log}`)), 10_000);
      child.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd ${this.name} exited with ${code}:\n${log}`));
      });
    });
    child.stderr.resume();
    child.removeAllListeners('exit');
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
  }

  async crash(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // sshd puts each connection in a session of its own: kill its descendants one by one.
      const victims = [child.pid, ...descendantsOf(child.pid)];
      for (const pid of victims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    }
    this.child = undefined;
    killProcessesUnder(this.workdir);
  }

  replaceHostKey(): Promise<void> {
    rmSync(this.hostKey, { force: true });
    rmSync(`${this.hostKey}.pub`, { force: true });
    this.publicKey = keygen(this.hostKey);
    return Promise.resolve();
  }
}

/** Pids of every descendant of `pid` (Linux /proc). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** SIGKILLs every process whose working directory is `dir` or below it (Linux /proc). */
export function killProcessesUnder(dir: string): number {
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if (cwd === dir || cwd.startsWith(`${dir}/`)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed++;
      } catch {
        // gone
      }
    }
  }
  return killed;
}

/** Processes whose working directory is `dir` or below it. */
export function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) found.push(Number(entry));
    } catch {
      // gone or not ours
    }
  }
  return found;
}

/** Starts `options.hosts` sshd servers; the caller stops them (`onTestFinished(() => fleet.stop())`). */
export async function startSshFleet(options: SshFleetOptions = {}): Promise<SshFleet> {
  const count = options.hosts ?? 3;
  if (count < 1 || count > LOOPBACK_ADDRESSES.length) throw new Error(`startSshFleet: 1 to ${LOOPBACK_ADDRESSES.length} hosts`);
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-sshd-'));
  const user = os.userInfo().username;
  const identityFile = path.join(dir, 'id_ed25519');
  const clientKey = keygen(identityFile);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, `${clientKey}\n`, { mode: 0o600 });
  const knownHostsFile = path.join(dir, 'known_hosts');
  const hosts: Host[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const address = LOOPBACK_ADDRESSES[i]!;
      const port = await freePort(address);
      const host = new Host(`h${i + 1}`, address, port, path.join(dir, `h${i + 1}`), path.join(dir, `h${i + 1}`, 'work'), {
        authorizedKeys,
        maxSessions: options.maxSessions ?? 10,
      });
      hosts.push(host);
      await host.start();
    }
  } catch (error) {
    for (const h of hosts) await h.crash();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  writeFileSync(knownHostsFile, hosts.map((h) => `[${h.address}]:${h.port} ${h.publicKey}\n`).join(''));
  if (options.hashKnownHosts === true) {
    execFileSync('ssh-keygen', ['-q', '-H', '-f', knownHostsFile], { stdio: 'ignore' });
    rmSync(`${knownHostsFile}.old`, { force: true });
  }
  return {
    hosts,
    dir,
    user,
    identityFile,
    knownHostsFile,
    hostsYaml(specs) {
      return specs
        .map((spec, i) => {
          const h = hosts[i]!;
          return [
            `  - name: ${h.name}`,
            '    transport: ssh',
            `    address: ${h.address}`,
            `    port: ${h.port}`,
            `    user: ${user}`,
            `    identityFile: ${identityFile}`,
            `    knownHostsFile: ${knownHostsFile}`,
            `    workdir: ${h.workdir}`,
            `    power: ${spec.power ?? 1}`,
            `    labels: [${(spec.labels ?? ['linux', 'x86_64']).join(', ')}]`,
            ...(spec.extra ?? []).map((line) => `    ${line}`),
          ].join('\n');
        })
        .join('\n')
        .concat('\n');
    },
    async stop() {
      for (const h of hosts) await h.crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
