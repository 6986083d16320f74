/**
 * A tiny real build root from Debian's busybox-static: /bin/busybox and a link per
 * applet (a shell, coreutils, dd, nc…), plus the usual empty top directories. As a
 * directory (an extracted prerequisite) or as a tarball (a prerequisite file).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { create } from 'tar';

export const BUSYBOX = '/bin/busybox';

/** Makes the root in `dir` (created) and returns `dir`. */
export function makeBusyboxRoot(dir: string): string {
  for (const d of ['bin', 'etc', 'usr/bin', 'tmp', 'var', 'root']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a !== '' && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', path.join(dir, 'bin', applet));
  writeFileSync(path.join(dir, 'etc/os-release'), 'NAME="buildfleet busybox root"\nID=busybox\n');
  return dir;
}

/** Packs a busybox root into `file` (gzip) and returns its path. */
export async function makeBusyboxRootTarball(file: string, workDir: string): Promise<string> {
  const dir = makeBusyboxRoot(path.join(workDir, 'busybox-root'));
  await create({ gzip: true, file, cwd: dir, portable: true }, ['.']);
  return file;
}
