/**
 * {@link HostShell} over SSH: argv quoted for the remote POSIX shell, uploads by
 * SFTP to a temporary name then renamed into place.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import type { HostShell, ShellResult } from '../transport.js';
import { channelExit, shellCommand, type SshConnections } from './connections.js';

/** Collects the output of a channel opened by {@link SshConnections} until it closes; resolves with the exit code (255 when the connection dropped). */
export function channelResult(channel: ClientChannel, options: { readonly signal?: AbortSignal; readonly timeoutSeconds?: number } = {}): Promise<ShellResult & { readonly dropped: boolean }> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stopped: string | undefined;
    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const stop = (why: string): void => {
      stopped = why;
      channel.close();
    };
    const timer = options.timeoutSeconds !== undefined ? setTimeout(() => stop(`timed out after ${options.timeoutSeconds}s`), options.timeoutSeconds * 1000) : undefined;
    const onAbort = (): void => stop('interrupted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    channel.once('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Read as the channel closes: the exit may have come before these listeners (channelExit).
      const exit = channelExit(channel);
      const code = exit === undefined ? undefined : (exit.code ?? (exit.signal !== undefined ? 128 + 15 : 255));
      const err = Buffer.concat(stderr).toString('utf8');
      resolve({
        code: stopped !== undefined ? 255 : (code ?? 255),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: stopped !== undefined ? `${err}buildfleet: ${stopped}\n` : code === undefined ? `${err}buildfleet: the connection dropped\n` : err,
        dropped: code === undefined && stopped === undefined,
      });
    });
  });
}

export class SshShell implements HostShell {
  constructor(private readonly connections: SshConnections) {}

  async exec(argv: readonly string[], options: { readonly signal?: AbortSignal; readonly timeoutSeconds?: number } = {}): Promise<ShellResult> {
    if (argv.length === 0) throw new Error('SshShell.exec: empty argv');
    const channel = await this.connections.exec(shellCommand(argv));
    channel.end();
    const { code, stdout, stderr } = await channelResult(channel, options);
    return { code, stdout, stderr };
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    const partial = path.posix.join(path.posix.dirname(remotePath), `.${path.posix.basename(remotePath)}.partial-${randomBytes(4).toString('hex')}`);
    const sftp = await this.connections.sftp();
    try {
      await new Promise<void>((resolve, reject) => sftp.fastPut(localPath, partial, (error) => (error ? reject(error) : resolve())));
      await new Promise<void>((resolve, reject) => posixRename(sftp, partial, remotePath, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      await new Promise<void>((resolve) => sftp.unlink(partial, () => resolve()));
      throw new Error(`could not upload ${localPath} to ${this.connections.label}:${remotePath}: ${(error as Error).message}`);
    } finally {
      sftp.end();
    }
  }
}

/** Rename replacing the target (OpenSSH's posix-rename extension; plain SFTP rename refuses an existing target). */
function posixRename(sftp: SFTPWrapper, from: string, to: string, done: (error: Error | undefined | null) => void): void {
  try {
    sftp.ext_openssh_rename(from, to, done);
  } catch {
    sftp.rename(from, to, done);
  }
}
