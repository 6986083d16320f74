/**
 * The log: pino on stderr, human-readable on a terminal and JSON lines otherwise
 * (or always with --log-format json). Documents go to stdout, never here.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'pretty' | 'json';

export interface LoggerOptions {
  readonly format?: LogFormat;
  readonly level?: string;
  /** Where JSON lines go (default: stderr); for tests of what reaches the log. */
  readonly destination?: DestinationStream;
}

/** Keys whose values never reach a log, at any depth up to three (passphrases, keys, tokens, environments). */
const SECRET_KEYS = ['passphrase', 'privateKey', 'token', 'password', 'secret', 'authorization', 'env', 'sshEnv'];

/** Paths whose values never reach a log: each secret key at the top and up to two levels down. */
export const REDACTED_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const base = { level: options.level ?? 'info', base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (options.destination !== undefined) return pino(base, options.destination);
  if (format === 'pretty') {
    return pino(base, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}
