// A tiny build root from Debian's busybox-static (/bin/busybox and a link per applet), for
// benchmarks; the tests make the same one (test/helpers/busyboxRoot.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function makeBusyboxRoot(dir) {
  for (const d of ['bin', 'etc', 'usr/bin', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet !== '' && applet !== 'busybox') fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  }
  return dir;
}
