/**
 * Installs branch prerequisite roots on hosts, once per host and branch per run:
 * uploads each tarball only when the host lacks its digest
 * (`<workdir>/tarballs/<sha256>.tar…`, given its final name only after `sha256sum`
 * on the host matched), extracts them in order into a temporary directory beside
 * `<workdir>/roots/<branch>/<key>/`, clears setuid and setgid bits (a root is a
 * build environment: nothing in it may gain privileges on the host), and renames it
 * into place (the rename is the commit: a half-extracted root is never used), then removes the root it replaces
 * and tarballs no other recorded root uses. Works through a host's HostShell
 * only (argv without shell interpretation: values reach the scripts below as
 * positional parameters), so it is the same for local and SSH hosts.
 *
 * Not responsible for verifying tarballs locally (prerequisiteCheck.ts, before
 * any of this) nor for scheduling around a host that failed (reconcile).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { INSTALLED_ROOTS_FILE, INSTALLED_ROOTS_FORMAT, readInstalledRoots, type InstalledRoot, type InstalledRootsFile } from '../observe/installedRoots.js';
import { writeFileAtomic } from './fsUtil.js';
import type { RootSpec } from './prerequisiteCheck.js';
import type { ShellResult, Transport } from './transport.js';

/** `root tarball…`: prints `root` when the root exists, else `have FILE` per tarball present; makes the directories. */
const PROBE = `set -eu
root=$1; shift
mkdir -p "$(dirname "$root")"
if [ -d "$root" ]; then echo root; exit 0; fi
for f in "$@"; do
  mkdir -p "$(dirname "$f")"
  if [ -f "$f" ]; then echo "have $f"; fi
done`;

/** `upload final sha256`: checks the uploaded file's digest on the host, then gives it its final name. */
const COMMIT_UPLOAD = `set -eu
tmp=$1; final=$2; want=$3
if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum "$tmp" | cut -d ' ' -f 1)
elif command -v sha256 >/dev/null 2>&1; then got=$(sha256 -q "$tmp")
else got=$(openssl dgst -sha256 -r "$tmp" | cut -d ' ' -f 1); fi
if [ "$got" != "$want" ]; then rm -f "$tmp"; echo "the uploaded copy has sha256 $got, expected $want" >&2; exit 3; fi
mv -f "$tmp" "$final"`;

/**
 * \`root tarball…\`: extracts into a temporary directory beside the root, then renames it
 * into place. Leftovers of runs that died are removed first (the state lock means no
 * other run of this state directory is extracting). If the root appeared meanwhile
 * (another config repository sharing the workdir made the same root), ours is dropped.
 */
const EXTRACT = `set -eu
root=$1; shift
parent=$(dirname "$root")
for old in "$parent"/.extract-*; do
  [ -e "$old" ] || continue
  chmod -R u+w "$old" 2>/dev/null || true; rm -rf "$old"
done
if [ -d "$root" ]; then echo present; exit 0; fi
tmp=$(mktemp -d "$parent/.extract-XXXXXX")
if [ "$(id -u)" = 0 ]; then owner=--same-owner; else owner=--no-same-owner; fi
for f in "$@"; do
  if ! tar -x "$owner" -f "$f" -C "$tmp"; then
    chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"
    echo "tar could not extract $f" >&2; exit 4
  fi
done
if ! find "$tmp" -type f \\( -perm -4000 -o -perm -2000 \\) -exec chmod u-s,g-s {} +; then
  chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"
  echo "could not clear the setuid and setgid bits in $root" >&2; exit 4
fi
if [ -e "$root" ]; then chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; echo present; exit 0; fi
mv "$tmp" "$root"
nested="$root/$(basename "$tmp")"
if [ -e "$nested" ]; then chmod -R u+w "$nested" 2>/dev/null || true; rm -rf "$nested"; fi
echo extracted`;

/** `path…`: removes roots (made writable first: tarballs may hold read-only directories) and tarballs. */
const REMOVE = `set -eu
for p in "$@"; do
  [ -e "$p" ] || [ -L "$p" ] || continue
  chmod -R u+w "$p" 2>/dev/null || true
  rm -rf "$p"
done`;

export type EnsureOutcome = { readonly ok: true; readonly root: string } | { readonly ok: false; readonly message: string };

/** What installations did in this run (for the benchmark and logs). */
export interface RootStats {
  uploads: number;
  uploadedBytes: number;
  extractions: number;
  removals: number;
}

export interface PrerequisiteRootsOptions {
  readonly stateDir: string;
  readonly runId: string;
  /** The checked root of each branch that has prerequisites. */
  readonly roots: ReadonlyMap<string, RootSpec>;
  /** Progress and trouble worth a log line. */
  readonly note?: (message: string) => void;
}

/** Path of a branch's root on a host. */
export function rootPath(workdir: string, branch: string, key: string): string {
  return path.posix.join(workdir, 'roots', branch, key);
}

export class PrerequisiteRoots {
  readonly stats: RootStats = { uploads: 0, uploadedBytes: 0, extractions: 0, removals: 0 };
  private record: InstalledRootsFile;
  private readonly ensured = new Map<string, Promise<EnsureOutcome>>();
  private readonly failedHosts = new Map<string, string[]>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: PrerequisiteRootsOptions) {
    this.record = readInstalledRoots(options.stateDir);
  }

  /** True when builds of `branch` need a root. */
  needsRoot(branch: string): boolean {
    return this.options.roots.has(branch);
  }

  /**
   * The branch's root on the transport's host, installed if needed. Once per host and
   * branch per run: concurrent and later callers share the first call's outcome.
   */
  ensure(transport: Transport, branch: string): Promise<EnsureOutcome> {
    const spec = this.options.roots.get(branch);
    if (spec === undefined) return Promise.resolve({ ok: false, message: `branch ${branch} has no checked prerequisites` });
    const id = `${transport.hostName}\0${branch}`;
    let pending = this.ensured.get(id);
    if (pending === undefined) {
      pending = this.install(transport, spec).catch((error: unknown) => ({ ok: false as const, message: (error as Error).message }));
      pending = pending.then((outcome) => {
        if (!outcome.ok) this.failedHosts.set(branch, [...(this.failedHosts.get(branch) ?? []), `${transport.hostName} (${outcome.message})`]);
        return outcome;
      });
      this.ensured.set(id, pending);
    }
    return pending;
  }

  /** Hosts (with the reason) where the branch's root could not be installed in this run. */
  failures(branch: string): readonly string[] {
    return this.failedHosts.get(branch) ?? [];
  }

  /** Waits until the record is written. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.ensured.values()]);
    await this.saving;
  }

  private async install(transport: Transport, spec: RootSpec): Promise<EnsureOutcome> {
    const { shell, workdir, hostName } = transport;
    const root = rootPath(workdir, spec.branch, spec.key);
    const hostFiles = spec.tarballs.map((t) => path.posix.join(workdir, 'tarballs', t.hostFile));
    const fail = (step: string, result: ShellResult): EnsureOutcome => ({
      ok: false,
      message: `could not install the prerequisites of branch ${spec.branch} on host ${hostName}: ${step} failed (exit ${result.code}${firstLine(result.stderr) !== '' ? `: ${firstLine(result.stderr)}` : ''})`,
    });

    const probe = await shell.exec(['sh', '-c', PROBE, 'sh', root, ...hostFiles], { timeoutSeconds: 120 });
    if (probe.code !== 0) return fail('checking the host', probe);
    const lines = probe.stdout.split('\n');
    if (!lines.includes('root')) {
      for (const [i, tarball] of spec.tarballs.entries()) {
        const final = hostFiles[i]!;
        if (lines.includes(`have ${final}`)) continue;
        const upload = path.posix.join(path.posix.dirname(final), `.${tarball.hostFile}.upload`);
        this.options.note?.(`host ${hostName}: uploading prerequisite ${tarball.name} (${tarball.sha256.slice(0, 12)}, ${tarball.size} bytes)`);
        await shell.upload(tarball.path, upload);
        this.stats.uploads++;
        this.stats.uploadedBytes += tarball.size;
        const commit = await shell.exec(['sh', '-c', COMMIT_UPLOAD, 'sh', upload, final, tarball.sha256], { timeoutSeconds: 1800 });
        if (commit.code !== 0) return fail(`verifying the upload of ${tarball.name}`, commit);
      }
      const extract = await shell.exec(['sh', '-c', EXTRACT, 'sh', root, ...hostFiles], { timeoutSeconds: 3600 });
      if (extract.code !== 0) return fail('extracting', extract);
      if (extract.stdout.includes('extracted')) this.stats.extractions++;
      this.options.note?.(`host ${hostName}: prerequisite root of branch ${spec.branch} ready at ${root}`);
    }

    const earlier = this.record.hosts[hostName]?.[spec.branch];
    const installed: InstalledRoot = {
      key: spec.key,
      root,
      tarballs: spec.tarballs.map((t, i) => ({ name: t.name, sha256: t.sha256, file: hostFiles[i]! })),
      installedAt: earlier?.key === spec.key ? earlier.installedAt : new Date().toISOString(),
      runId: this.options.runId,
    };
    await this.replace(transport, spec.branch, installed);
    return { ok: true, root };
  }

  /**
   * Records the root, then removes what it replaces: no build of this run uses the old
   * root (every build gets the current one), and the state lock keeps other runs of this
   * state directory away. Removals that fail are recorded and tried again by a later run.
   */
  private async replace(transport: Transport, branch: string, installed: InstalledRoot): Promise<void> {
    const host = transport.hostName;
    // The record is updated synchronously (several installations run at once), then saved.
    const previous = this.record.hosts[host]?.[branch];
    const hostRoots = { ...(this.record.hosts[host] ?? {}), [branch]: installed };
    const stillUsed = new Set(Object.values(hostRoots).flatMap((r) => [r.root, ...r.tarballs.map((t) => t.file)]));
    const candidates = [
      ...(previous !== undefined && previous.root !== installed.root ? [previous.root, ...previous.tarballs.map((t) => t.file)] : []),
      ...this.record.pendingRemoval.filter((p) => p.host === host).flatMap((p) => p.paths),
    ];
    const remove = [...new Set(candidates)].filter((p) => !stillUsed.has(p) && isInside(transport.workdir, p));
    this.record = {
      formatVersion: INSTALLED_ROOTS_FORMAT,
      hosts: { ...this.record.hosts, [host]: hostRoots },
      pendingRemoval: this.record.pendingRemoval.filter((p) => p.host !== host),
    };
    await this.save();
    if (remove.length === 0) return;
    const result = await transport.shell.exec(['sh', '-c', REMOVE, 'sh', ...remove], { timeoutSeconds: 1800 }).catch((error: unknown) => ({ code: 255, stdout: '', stderr: (error as Error).message }));
    if (result.code === 0) {
      this.stats.removals += remove.length;
      this.options.note?.(`host ${host}: removed the replaced prerequisite root and tarballs of branch ${branch}: ${remove.join(', ')}`);
      return;
    }
    this.options.note?.(`host ${host}: could not remove ${remove.join(', ')} (${firstLine(result.stderr)}); a later run tries again`);
    this.record = { ...this.record, pendingRemoval: [...this.record.pendingRemoval, { host, paths: remove }] };
    await this.save();
  }

  private save(): Promise<void> {
    const file = path.join(this.options.stateDir, INSTALLED_ROOTS_FILE);
    // In order, one at a time; each writes the latest record whole.
    this.saving = this.saving.then(async () => {
      await mkdir(path.dirname(file), { recursive: true });
      const record = this.record;
      await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
    });
    return this.saving;
  }
}

/** Removals stay inside the host's workdir, whatever the record says. */
function isInside(workdir: string, p: string): boolean {
  const rel = path.posix.relative(workdir, p);
  return rel !== '' && !rel.startsWith('..') && !path.posix.isAbsolute(rel);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
