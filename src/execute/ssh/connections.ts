/**
 * The SSH connections to one host for one run: opened on first use, shared by
 * every build as channels, one more opened when the server refuses a session
 * (OpenSSH `MaxSessions`), dropped ones replaced on the next use. Verifies the
 * host key against known_hosts before authenticating; never accepts an unknown
 * or changed key. Not responsible for what runs in the channels.
 */
import { readFileSync } from 'node:fs';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { HostConfig } from '../../config/types.js';
import { describeRefusal, entriesForHost, hostKeyAlgorithms, keyTypeOfBlob, parseKnownHosts, verifyHostKey } from './knownHosts.js';

/** Why talking to a host failed. `connect`/`dropped` are host faults; `host-key`/`auth` are configuration faults. */
export type SshFailureKind = 'connect' | 'host-key' | 'auth' | 'dropped' | 'refused';

/** A failure to reach the host (not a failure of what runs there). */
export class SshError extends Error {
  constructor(
    message: string,
    readonly kind: SshFailureKind,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

export interface SshConnectionsOptions {
  readonly host: HostConfig;
  /** Where SSH_AUTH_SOCK and the passphrase variable are read (the caller's environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Seconds to reach the host, finish the handshake and authenticate. */
  readonly connectTimeoutSeconds: number;
  /** Seconds between keepalives; the connection is dropped after 3 unanswered. */
  readonly keepaliveSeconds?: number;
}

/** How the command of a channel ended: its exit status, or the signal that ended it. */
export interface ChannelExit {
  readonly code: number | null;
  readonly signal?: string;
}

const exits = new WeakMap<object, ChannelExit>();

/**
 * How the command of a channel opened by {@link SshConnections} ended, once the server said so;
 * undefined before that, or when it never did (the connection dropped). Read it when the channel
 * closes. It is recorded from the moment the channel opened: ssh2 handles every packet of one
 * socket read at once, so a short command's output, exit status and close can arrive with the
 * reply that opened the channel, and be handled before the code that asked for the channel runs
 * again — an `exit` listener added there would miss the exit and take the command for dropped.
 */
export function channelExit(channel: ClientChannel): ChannelExit | undefined {
  return exits.get(channel);
}

/** Records how `channel`'s command ends, for {@link channelExit}; called as the channel opens. */
function recordExit(channel: ClientChannel | SFTPWrapper): void {
  channel.on('exit', (code: number | null, signal?: string) => exits.set(channel, { code, ...(signal !== undefined ? { signal } : {}) }));
}

interface Connection {
  readonly client: Client;
  /** Channels open on it now. */
  open: number;
  /** Channels the server accepted at most (learnt from a refusal); Infinity until then. */
  limit: number;
  closed: boolean;
  /** Why it ended, once it has (the client's error, or the host closing it). */
  endReason?: string;
}

/** Quotes one argument for a POSIX shell: the remote shell sees exactly `arg`. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line for the remote login shell that runs argv without interpretation. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

export class SshConnections {
  private readonly connections: Connection[] = [];
  private connecting: Promise<Connection> | undefined;
  private closing = false;
  /** The last connection failure and when it happened (ms since epoch). */
  lastFailure: { readonly error: SshError; readonly at: number } | undefined;
  /** Connections opened so far (for tests and `hosts`). */
  opened = 0;
  /** Connections that dropped while in use. */
  drops = 0;
  /** The last drop: why, and when (ms since epoch). */
  private lastDrop: { readonly reason: string; readonly at: number } | undefined;

  constructor(private readonly options: SshConnectionsOptions) {}

  get label(): string {
    const { host } = this.options;
    return `${host.user ?? ''}@${host.address ?? ''}:${host.port}`;
  }

  /**
   * `: <why>` when a connection dropped in the last few seconds (a channel that closed
   * without an exit status is told why), else ''.
   */
  dropReason(): string {
    return this.lastDrop !== undefined && Date.now() - this.lastDrop.at < 5000 ? `: ${this.lastDrop.reason}` : '';
  }

  /** Whether some connection is open now. */
  get connected(): boolean {
    return this.connections.some((c) => !c.closed);
  }

  /** Opens an exec channel running `command` (a command line for the remote shell). */
  async exec(command: string): Promise<ClientChannel> {
    return this.withChannel((client, done) => client.exec(command, done));
  }

  /** Opens an SFTP session (one channel). */
  async sftp(): Promise<SFTPWrapper> {
    return this.withChannel((client, done) => client.sftp(done));
  }

  /** Ensures a connection is open (connecting when none is); throws an {@link SshError} when the host cannot be reached. */
  async connect(): Promise<void> {
    if (!this.connected) await this.newConnection();
  }

  async close(): Promise<void> {
    this.closing = true;
    const closing = this.connections.map((c) => new Promise<void>((resolve) => {
      if (c.closed) return resolve();
      c.client.once('close', () => resolve());
      c.client.end();
    }));
    await Promise.all(closing);
  }

  private async withChannel<T extends ClientChannel | SFTPWrapper>(open: (client: Client, done: (error: Error | undefined, channel: T) => void) => void): Promise<T> {
    let refusals = 0;
    for (;;) {
      if (this.closing) throw new SshError(`connections to ${this.label} are closed`, 'dropped');
      const candidates = this.connections.filter((c) => !c.closed && c.open < c.limit);
      const conn = candidates[0] ?? (await this.newConnection());
      if (conn.closed || conn.open >= conn.limit) continue;
      conn.open++;
      let channel: T;
      try {
        channel = await new Promise<T>((resolve, reject) => {
          try {
            open(conn.client, (error, ch) => {
              if (error !== undefined && error !== null) return reject(error);
              recordExit(ch);
              resolve(ch);
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      } catch (error) {
        conn.open--;
        if (conn.closed) continue; // dropped meanwhile: the next round reconnects
        if (/Channel open failure/.test((error as Error).message)) {
          // The server's session limit: remember it and use (or open) another connection. A
          // session just closed may still count on the server for a moment: wait a little.
          if (++refusals > 8) throw new SshError(`${this.label} refused to open a session: ${(error as Error).message}`, 'refused');
          conn.limit = Math.max(1, conn.open);
          if (conn.open === 0) await new Promise((resolve) => setTimeout(resolve, 25 * refusals));
          continue;
        }
        if (/No response from server|Not connected/i.test((error as Error).message)) {
          conn.closed = true;
          continue;
        }
        throw error;
      }
      channel.once('close', () => conn.open--);
      return channel;
    }
  }

  private newConnection(): Promise<Connection> {
    // A host that just failed to connect fails again at once (for the connect timeout; for
    // ever when its key or the login was refused): builds waiting for it go elsewhere.
    const last = this.lastFailure;
    if (last !== undefined && (last.error.kind !== 'connect' || Date.now() - last.at < this.options.connectTimeoutSeconds * 1000)) {
      return Promise.reject(last.error);
    }
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openConnection(): Promise<Connection> {
    try {
      const conn = await this.handshake();
      this.lastFailure = undefined;
      return conn;
    } catch (error) {
      const failure = error instanceof SshError ? error : new SshError((error as Error).message, 'connect');
      this.lastFailure = { error: failure, at: Date.now() };
      throw failure;
    }
  }

  private handshake(): Promise<Connection> {
    const { host, env } = this.options;
    const address = host.address ?? '';
    const knownHostsFile = host.knownHostsFile ?? '';
    let entries;
    try {
      entries = parseKnownHosts(readFileSync(knownHostsFile, 'utf8'));
    } catch (error) {
      return Promise.reject(
        new SshError(`cannot read knownHostsFile ${knownHostsFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); create it with: ssh-keyscan -p ${host.port} ${address} >> ${knownHostsFile}`, 'host-key'),
      );
    }
    const types = [...new Set(entriesForHost(entries, address, host.port).filter((e) => e.marker === undefined).map((e) => e.type))];
    const config: ConnectConfig = {
      host: address,
      port: host.port,
      username: host.user ?? '',
      readyTimeout: this.options.connectTimeoutSeconds * 1000,
      keepaliveInterval: (this.options.keepaliveSeconds ?? 15) * 1000,
      keepaliveCountMax: 3,
      ...(types.length > 0 ? { algorithms: { serverHostKey: hostKeyAlgorithms(types) as never } } : {}),
    };
    if (host.identityFile !== undefined) {
      try {
        config.privateKey = readFileSync(host.identityFile);
      } catch (error) {
        return Promise.reject(new SshError(`cannot read identityFile ${host.identityFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'auth'));
      }
      if (host.passphraseEnv !== undefined) {
        const passphrase = env[host.passphraseEnv];
        if (passphrase === undefined) return Promise.reject(new SshError(`the passphrase variable ${host.passphraseEnv} (passphraseEnv) is not set; export it before running buildfleet`, 'auth'));
        config.passphrase = passphrase;
      }
    }
    if (env.SSH_AUTH_SOCK !== undefined && env.SSH_AUTH_SOCK !== '') config.agent = env.SSH_AUTH_SOCK;
    if (config.privateKey === undefined && config.agent === undefined) {
      return Promise.reject(new SshError(`no key to log in to ${this.label}: set identityFile in hosts.yaml or run an ssh-agent (SSH_AUTH_SOCK)`, 'auth'));
    }

    let refusal: string | undefined;
    config.hostVerifier = (key: Buffer): boolean => {
      const verdict = verifyHostKey(entries, address, host.port, { type: keyTypeOfBlob(key), key: key.toString('base64') });
      if (verdict.kind === 'match') return true;
      refusal = describeRefusal(verdict, { host: address, port: host.port, file: knownHostsFile, offered: key });
      return false;
    };

    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      const conn: Connection = { client, open: 0, limit: Number.POSITIVE_INFINITY, closed: false };
      let ready = false;
      client.once('ready', () => {
        ready = true;
        this.opened++;
        this.connections.push(conn);
        resolve(conn);
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (ready) {
          conn.endReason ??= error.message; // followed by 'close'
          return;
        }
        if (refusal !== undefined) return reject(new SshError(refusal, 'host-key'));
        if (error.level === 'client-authentication') return reject(new SshError(`${this.label} refused the login (${error.message}); check user, identityFile and the host's authorized_keys`, 'auth'));
        if (error.level === 'client-timeout') return reject(new SshError(`${this.label} did not answer within ${this.options.connectTimeoutSeconds}s (connectTimeout)`, 'connect'));
        reject(new SshError(`cannot connect to ${this.label}: ${error.message}`, /passphrase|private key|Cannot parse/i.test(error.message) ? 'auth' : 'connect'));
      });
      client.once('close', () => {
        conn.closed = true;
        const i = this.connections.indexOf(conn);
        if (i >= 0) this.connections.splice(i, 1);
        if (!ready) reject(new SshError(refusal ?? `${this.label} closed the connection during the handshake`, refusal !== undefined ? 'host-key' : 'connect'));
        else if (!this.closing) {
          this.drops++;
          this.lastDrop = { reason: conn.endReason ?? 'the host closed the connection', at: Date.now() };
        }
      });
      try {
        client.connect(config);
      } catch (error) {
        reject(new SshError(`cannot connect to ${this.label}: ${(error as Error).message}`, /passphrase|private key|Cannot parse/i.test((error as Error).message) ? 'auth' : 'connect'));
      }
    });
  }
}
