/**
 * Hostile strings for the tests of test/hostile/: shell metacharacters that would
 * create a canary file if anything ran them through a shell, newlines, `..`,
 * absolute paths, 64 KiB strings and bytes that are not UTF-8; and the checks that
 * nothing ran and nothing was written where it should not be.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The canary file name: any file whose name starts with it means a hostile string was run. */
export const CANARY = 'canary';

/** 64 KiB of one letter: a valid-looking name or version that is far too long. */
export const LONG = 'a'.repeat(64 * 1024);

/**
 * Strings that run `touch <canaryDir>/canary-<label>` when a shell evaluates them
 * (command substitution, backticks, `;`, `|`, `&&`, a newline), keyed by label.
 * `canaryDir` is absolute; labels keep canaries apart so that a failure names the case.
 */
export function shellStrings(canaryDir: string): Record<string, string> {
  const touch = (label: string): string => `touch ${path.join(canaryDir, `${CANARY}-${label}`)}`;
  return {
    subst: `x$(${touch('subst')})`,
    backtick: `x\`${touch('backtick')}\``,
    semicolon: `x;${touch('semicolon')}`,
    pipe: `x|${touch('pipe')}`,
    and: `x&&${touch('and')}`,
    newline: `x\n${touch('newline')}`,
  };
}

/** Strings that name places outside a directory when used as a path. */
export const PATH_STRINGS: Record<string, string> = {
  dotdot: '../../../escape',
  absolute: '/tmp/escape',
  dotdotVersion: '1.0/../../x',
};

/** Every canary file under `root` (recursively) and in `extraDirs`. */
export function findCanaries(root: string, extraDirs: readonly string[] = []): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, entry.name);
      if (entry.name.startsWith(CANARY) || entry.name.startsWith('escape')) found.push(abs);
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(abs);
    }
  };
  walk(root);
  for (const dir of extraDirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.startsWith(CANARY) || name.startsWith('escape')) found.push(path.join(dir, name));
  }
  return found.sort();
}

/** Every path under `root`, relative, sorted (directories end with `/`). */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        out.push(`${child}/`);
        walk(child);
      } else out.push(child);
    }
  };
  if (existsSync(root)) walk('');
  return out.sort();
}

/** The diagnostic lines (`file[:line:col]: error|warning: …`) of a command's stderr. */
export function diagnosticLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^[^\s{].*: (error|warning): /.test(l));
}
