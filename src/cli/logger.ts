/**
 * The log: pino on stderr, human-readable on a terminal and JSON lines otherwise
 * (or always with --log-format json). Documents go to stdout, never here.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'pretty' | 'json';

export interface LoggerOptions {
  readonly format?: LogFormat;
  readonly level?: string;
}

/** Paths whose values never reach a log (passphrases, keys, tokens). */
export const REDACTED_PATHS = ['passphrase', '*.passphrase', 'privateKey', '*.privateKey', 'token', '*.token', 'password', '*.password'];

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const base = { level: options.level ?? 'info', base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (format === 'pretty') {
    return pino(base, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}
