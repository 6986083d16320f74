/**
 * Whether this machine has a command on its PATH: how a local host is checked
 * against a pipeline's `requires` before planning. SSH hosts are not probed at
 * plan time (that would connect on every dry run); a missing command there fails
 * the build's step.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const cache = new Map<string, boolean>();

/** True when an executable file `command` is in one of the directories of `searchPath` (default: this process's PATH). */
export function localHasCommand(command: string, searchPath: string = process.env.PATH ?? ''): boolean {
  const key = `${searchPath}\0${command}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = searchPath.split(path.delimiter).some((dir) => dir !== '' && isExecutableFile(path.join(dir, command)));
    cache.set(key, found);
  }
  return found;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
