/** Options every command takes. */
import path from 'node:path';

export interface GlobalOptions {
  /** The config repository (-C), as given (shown in messages as the user wrote it). */
  readonly configDir: string;
  /** The state directory: --state-dir, or var/ inside the config directory. */
  stateDir(configDir: string): string;
}

export function globalOptions(opts: { config?: string; stateDir?: string }): GlobalOptions {
  const configDir = opts.config ?? '.';
  return {
    configDir,
    stateDir: (dir) => (opts.stateDir !== undefined ? path.resolve(opts.stateDir) : path.join(dir, 'var')),
  };
}
