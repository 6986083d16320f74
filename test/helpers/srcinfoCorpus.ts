/**
 * The real `.SRCINFO` corpus (chaotic-aur, 2,533 pkgbase directories), extracted
 * once per test file into a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corpus } from './corpora.js';

export interface SrcinfoCorpus {
  /** The directory of the pkgbase directories. */
  readonly root: string;
  text(dir: string): string;
  remove(): void;
}

export function extractSrcinfoCorpus(): SrcinfoCorpus {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-srcinfo-corpus-'));
  execFileSync('tar', ['-xzf', corpus('chaotic-aur-srcinfo.tar.gz'), '-C', tmp]);
  const root = path.join(tmp, 'chaotic-aur');
  return {
    root,
    text: (dir) => readFileSync(path.join(root, dir, '.SRCINFO'), 'utf8'),
    remove: () => rmSync(tmp, { recursive: true, force: true }),
  };
}
