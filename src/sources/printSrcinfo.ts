/**
 * A `.SRCINFO` for a pkgbase directory that has only a PKGBUILD: the output of
 * `makepkg --printsrcinfo`, run in a scratch copy of the PKGBUILD.
 *
 * makepkg refuses to run as root, so as root it runs as the unprivileged user
 * `nobody` (setpriv), in a scratch directory that user owns; makepkg's output
 * directories (BUILDDIR, PKGDEST, …) point there too, since it checks that
 * they are writable. Where makepkg is not installed, the recipe is invalid with
 * a hint to commit a `.SRCINFO`. makepkg sources the PKGBUILD (it is a shell
 * script), so this runs the recipe's top-level code, as makepkg itself would.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Diagnostic, Result } from '../config/diagnostic.js';

export const PKGBUILD_FILE = 'PKGBUILD';

/** makepkg sources the PKGBUILD and greps it hundreds of times: slow, but not this slow. */
const TIMEOUT_MS = 180_000;

const COMMIT_HINT = 'commit a .SRCINFO beside the PKGBUILD (`makepkg --printsrcinfo > .SRCINFO`)';

export function generateSrcinfo(dir: string, displayFile: string): Result<string> {
  const fail = (message: string, hint: string): Result<string> => ({ ok: false, error: [{ severity: 'error', file: displayFile, message, hint } satisfies Diagnostic] });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-srcinfo-'));
  try {
    copyFileSync(path.join(dir, PKGBUILD_FILE), path.join(scratch, PKGBUILD_FILE));
    const asRoot = os.userInfo().uid === 0;
    const user = asRoot ? unprivilegedUser() : undefined;
    if (user !== undefined) {
      chownSync(scratch, user.uid, user.gid);
      chownSync(path.join(scratch, PKGBUILD_FILE), user.uid, user.gid);
    }
    const dirs = ['BUILDDIR', 'PKGDEST', 'SRCDEST', 'SRCPKGDEST', 'LOGDEST'].map((v) => `${v}=${scratch}`);
    const command = [...dirs, ...(user !== undefined ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'] : []), 'makepkg', '--printsrcinfo'];
    try {
      return { ok: true, value: execFileSync('env', command, { cwd: scratch, encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 }) };
    } catch (error) {
      const e = error as { status?: number | null; stderr?: string; code?: string; signal?: string | null };
      // env exits 127 when makepkg is not on PATH.
      if (e.status === 127) return fail('no .SRCINFO, and makepkg is not installed to write one', COMMIT_HINT);
      if (e.signal !== null && e.signal !== undefined) return fail(`makepkg --printsrcinfo did not finish (${e.signal})`, COMMIT_HINT);
      // makepkg names the scratch copy: show the recipe's own file instead.
      const why = (e.stderr ?? '')
        .split(`${scratch}/${PKGBUILD_FILE}`)
        .join(displayFile)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .slice(-3)
        .join(' / ');
      return fail(`no .SRCINFO, and makepkg --printsrcinfo failed (exit ${e.status ?? '?'}): ${why}`, `fix the PKGBUILD, or ${COMMIT_HINT}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The `nobody` user of /etc/passwd (65534 when it is not listed). */
function unprivilegedUser(): { uid: number; gid: number } {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[0] === 'nobody' && fields.length >= 4) return { uid: Number(fields[2]), gid: Number(fields[3]) };
    }
  } catch {
    // No passwd file: the conventional ids.
  }
  return { uid: 65534, gid: 65534 };
}
