/**
 * Hostile prerequisite tarballs end to end, through `plan` and `reconcile` of
 * branches whose `prerequisites` name them: entries escaping the root (`..`,
 * absolute paths), a symbolic link out followed by an entry through it, a hard
 * link to a file outside, device files made with mknod and packed by GNU tar,
 * decompression bombs, truncated and corrupt archives. Each is refused before
 * anything is uploaded or built, with a located error naming the tarball and the
 * entry; no canary appears outside the prerequisite root and no root is made.
 * FIFOs, setuid files (their bits cleared) and 20,000 entries are accepted and
 * extracted safely.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli, runCliMeasured } from '../helpers/cli.js';
import { diagnosticLines, findCanaries, listTree } from '../helpers/hostile.js';
import { recipe, type RunDocument } from '../helpers/reconcile-fixture.js';
import { rawTar, type RawEntry } from '../helpers/tarballs.js';
import { testdir, writeFiles, type Files } from '../helpers/testdir.js';

/** Peak RSS bound of the buildfleet process checking and extracting 20,000 entries, MiB (50,000: 110 MiB, bench/tarball-entries.js). */
const RSS_BOUND_MIB = 300;

function canaryDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-canaries-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A tar header block (512 bytes) of a regular file of `size` bytes. */
function fileHeader(name: string, size: number): Buffer {
  const header = new Header({ path: name, type: 'File', size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
  header.encode();
  return header.block!;
}

/**
 * A gzip decompression bomb: one file of `gib` GiB of zeros, as concatenated gzip
 * members (1 MiB of zeros compresses to about 1 KiB): a 2 GiB file is a 2 MiB tarball.
 */
function bomb(gib: number): Buffer {
  const mib = gzipSync(Buffer.alloc(1024 * 1024));
  return Buffer.concat([gzipSync(fileHeader('./bomb', gib * 1024 ** 3)), ...Array<Buffer>(gib * 1024).fill(mib), gzipSync(Buffer.alloc(1024))]);
}

/** Packs directory `src` with GNU tar (real device nodes, FIFOs and modes, as root). */
function gnuTar(src: string, file: string): void {
  execFileSync('tar', ['-C', src, '--numeric-owner', '-czf', file, '.']);
}

interface HostileCase {
  /** Writes the tarball `file` (canaries: the directory anything escaping would land in). */
  readonly make: (file: string, canaries: string, scratch: string) => void;
  /** A fragment the error must hold: the entry, or what is wrong with the archive. */
  readonly says: string;
  /** `maxUnpackedSize` of the prerequisite, if not the default. */
  readonly limit?: string;
}

const HOSTILE: Record<string, HostileCase> = {
  dotdot: { make: (f) => writeFileSync(f, rawTar([{ path: './', type: 'Directory' }, { path: './usr/../../../../../canary-dotdot', content: 'x' }], { gzip: true })), says: 'entry "./usr/../../../../../canary-dotdot" has a ".." component' },
  absolute: { make: (f, c) => writeFileSync(f, rawTar([{ path: `${c}/canary-absolute`, content: 'x' }], { gzip: true })), says: '/canary-absolute" has an absolute path' },
  'symlink-then-through': {
    // The link itself stays inside (absolute targets are read relative to the root); the entry through it would not.
    make: (f, c) => writeFileSync(f, rawTar([{ path: 'out', type: 'SymbolicLink', linkpath: c }, { path: 'out/canary-through', content: 'x' }], { gzip: true })),
    says: 'entry "out/canary-through" lies under "out", which the archive made a symbolic link',
  },
  'symlink-climbing': { make: (f, c) => writeFileSync(f, rawTar([{ path: 'up', type: 'SymbolicLink', linkpath: `../../../../../../..${c}` }, { path: 'up/canary-up', content: 'x' }], { gzip: true })), says: 'symbolic link "up" points to' },
  'hardlink-out': { make: (f, c) => writeFileSync(f, rawTar([{ path: 'victim', type: 'Link', linkpath: `${c}/target` }, { path: 'victim', content: 'overwritten' }], { gzip: true })), says: 'hard link "victim" points to' },
  'char-device': {
    make: (f, _c, s) => {
      mkdirSync(path.join(s, 'dev'), { recursive: true });
      execFileSync('mknod', [path.join(s, 'dev/canary-null'), 'c', '1', '3']);
      gnuTar(s, f);
    },
    says: 'entry "./dev/canary-null" is a device file',
  },
  'block-device': {
    make: (f, _c, s) => {
      mkdirSync(path.join(s, 'dev'), { recursive: true });
      execFileSync('mknod', [path.join(s, 'dev/canary-loop'), 'b', '7', '0']);
      gnuTar(s, f);
    },
    says: 'entry "./dev/canary-loop" is a device file',
  },
  'bomb-2G-limit-1G': { make: (f) => writeFileSync(f, bomb(2)), limit: '1G', says: 'the archive unpacks to more than 1G (maxUnpackedSize): entry "./bomb" (2147483648 bytes) passes the limit' },
  'bomb-17G-default': {
    // Only the header and a few MiB: the check stops at the header, before any content.
    make: (f) => writeFileSync(f, Buffer.concat([gzipSync(fileHeader('./bomb', 17 * 1024 ** 3)), ...Array<Buffer>(4).fill(gzipSync(Buffer.alloc(1024 * 1024)))])),
    says: 'the archive unpacks to more than 16G (maxUnpackedSize): entry "./bomb" (18253611008 bytes) passes the limit',
  },
  truncated: {
    make: (f) => {
      const whole = rawTar([{ path: './', type: 'Directory' }, { path: './etc/release', content: 'r1\n'.repeat(5000) }], { gzip: true });
      writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2)));
    },
    says: 'not a readable tar archive (zlib: unexpected end of file)',
  },
  corrupt: {
    make: (f) => {
      const bytes = rawTar([{ path: './', type: 'Directory' }, { path: './etc/release', content: 'r1\n'.repeat(5000) }]);
      bytes.fill(0x41, 600, 700); // the second header's name and mode: its checksum no longer matches
      writeFileSync(f, bytes);
    },
    says: 'not a readable tar archive (TAR_ENTRY_INVALID: checksum failure)',
  },
};

function branchYaml(name: string, tarball: string, digest: string, limit?: string): string {
  return [
    'source:',
    '  path: recipes',
    '  format: recipe',
    'pipeline: shell',
    'prerequisites:',
    '  - name: base',
    `    path: ${tarball}`,
    `    sha256: ${digest}`,
    ...(limit !== undefined ? [`    maxUnpackedSize: ${limit}`] : []),
    'repos:',
    `  - name: ${name}`,
    `    path: repos/${name}`,
    '    format: plain',
    '',
  ].join('\n');
}

const PIPELINE = 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 2m\n';
const HOSTS = 'hosts:\n  - name: local\n    transport: local\n    power: 2\n';

describe('hostile prerequisite tarballs', () => {
  it('are refused by reconcile with a located error naming the tarball and the entry; nothing escapes, nothing is installed', { timeout: 60_000 }, async () => {
    const canaries = canaryDir();
    writeFileSync(path.join(canaries, 'target'), 'original\n');
    const dir = testdir({ 'hosts.yaml': HOSTS, 'pipelines/shell.yaml': PIPELINE, ...recipe('app') });
    const files: Files = {};
    for (const [name, c] of Object.entries(HOSTILE)) {
      const tarball = `tarballs/${name}.tar.gz`;
      mkdirSync(path.join(dir, 'tarballs'), { recursive: true });
      const scratch = path.join(dir, 'scratch', name);
      mkdirSync(scratch, { recursive: true });
      c.make(path.join(dir, tarball), canaries, scratch);
      files[`branches/${name}.yaml`] = branchYaml(name, tarball, sha256(path.join(dir, tarball)), c.limit);
    }
    rmSync(path.join(dir, 'scratch'), { recursive: true });
    writeFiles(dir, files);
    const before = listTree(dir);

    // plan reads only the digests (it stays quick): it shows the builds; reconcile refuses before doing anything.
    const plan = await runCli(['-C', dir, 'plan', '--detailed-exitcode'], { cwd: dir });
    expect(plan.code, plan.stderr).toBe(2);
    for (const command of [['reconcile'], ['reconcile', '--format', 'json']]) {
      const run = await runCli(['-C', dir, ...command], { cwd: dir });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toBe('');
      const lines = diagnosticLines(run.stderr);
      for (const [name, c] of Object.entries(HOSTILE)) {
        const line = lines.find((l) => l.startsWith(`branches/${name}.yaml:`));
        expect(line, `${command.join(' ')}: no diagnostic for ${name} in:\n${run.stderr}`).toMatch(new RegExp(`^branches/${name}\\.yaml:6:5: error: prerequisite "base": tarballs/${name}\\.tar\\.gz: `));
        expect(line).toContain(c.says);
      }
      expect(run.stderr).toContain('Nothing was uploaded or built');
    }
    // Nothing escaped, nothing was extracted or uploaded, no repo was made; the hard link's target is untouched.
    expect(findCanaries(dir, [canaries, os.tmpdir()])).toEqual([]);
    expect(readdirSync(canaries)).toEqual(['target']);
    expect(readFileSync(path.join(canaries, 'target'), 'utf8')).toBe('original\n');
    expect(statSync(path.join(canaries, 'target')).nlink).toBe(1);
    const after = listTree(dir).filter((p) => !before.includes(p));
    expect(after.filter((p) => !p.startsWith('var/') || p.startsWith('var/roots') || p.startsWith('var/tarballs') || /\/(work|logs)\//.test(p))).toEqual([]);
  });

  it('accepts FIFOs and setuid files (the bits cleared) and 20,000 entries, with bounded memory, and the build sees the root', { timeout: 60_000 }, async () => {
    const dir = testdir({ 'hosts.yaml': HOSTS, 'pipelines/shell.yaml': PIPELINE });
    // FIFO and setuid/setgid files from a real directory, packed by GNU tar as root.
    const src = path.join(dir, 'scratch');
    mkdirSync(path.join(src, 'bin'), { recursive: true });
    mkdirSync(path.join(src, 'run'), { recursive: true });
    writeFileSync(path.join(src, 'bin/su'), '#!/bin/sh\necho su\n', { mode: 0o755 });
    execFileSync('chmod', ['4755', path.join(src, 'bin/su')]);
    writeFileSync(path.join(src, 'bin/wall'), '#!/bin/sh\necho wall\n', { mode: 0o755 });
    execFileSync('chmod', ['2755', path.join(src, 'bin/wall')]);
    execFileSync('mkfifo', [path.join(src, 'run/initctl')]);
    mkdirSync(path.join(dir, 'tarballs'));
    gnuTar(src, path.join(dir, 'tarballs/special.tar.gz'));
    rmSync(src, { recursive: true });
    // 20,000 entries: 200 directories of 99 small files each (50,000: bench/tarball-entries.js).
    const many: RawEntry[] = [{ path: './', type: 'Directory' }, { path: './share/', type: 'Directory' }];
    for (let d = 0; d < 200; d++) {
      many.push({ path: `./share/d${d}/`, type: 'Directory' });
      for (let f = 0; f < 99; f++) many.push({ path: `./share/d${d}/f${f}`, content: `${d}.${f}\n` });
    }
    expect(many.length).toBeGreaterThanOrEqual(20_000);
    writeFileSync(path.join(dir, 'tarballs/many.tar.gz'), rawTar(many, { gzip: true }));
    writeFiles(dir, {
      'branches/special.yaml': branchYaml('special', 'tarballs/special.tar.gz', sha256(path.join(dir, 'tarballs/special.tar.gz'))),
      'branches/many.yaml': branchYaml('many', 'tarballs/many.tar.gz', sha256(path.join(dir, 'tarballs/many.tar.gz'))),
      ...recipe('app', {
        script: [
          'r=$BUILDFLEET_ROOT',
          'case $BUILDFLEET_BRANCH in',
          '  special) { test -p "$r/run/initctl" && test -x "$r/bin/su" && test ! -u "$r/bin/su" && test ! -g "$r/bin/wall"; } || exit 1 ;;',
          '  many) { test "$(ls "$r/share" | wc -l)" = 200 && test "$(cat "$r/share/d199/f98")" = 199.98; } || exit 1 ;;',
          'esac',
          'echo "$BUILDFLEET_BRANCH" > "$BUILDFLEET_OUT/app-1.0-1.txt"',
        ].join('\n'),
      }),
    });

    const plan = await runCli(['-C', dir, 'plan', '--detailed-exitcode'], { cwd: dir });
    expect(plan.code, plan.stderr).toBe(2);
    const run = await runCliMeasured(['-C', dir, 'reconcile', '--format', 'json'], dir);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as RunDocument).branches.map((b) => `${b.name}: ${b.results.map((r) => `${r.package} ${r.status}`).join(', ')}`).sort()).toEqual(['many: app built', 'special: app built']);
    expect(run.peakRssMiB).toBeGreaterThan(0);
    expect(run.peakRssMiB).toBeLessThan(RSS_BOUND_MIB);

    const rootOf = (branch: string): string => {
      const keys = readdirSync(path.join(dir, 'var/roots', branch));
      expect(keys.filter((k) => k.startsWith('.')), 'an unfinished extraction was left').toEqual([]);
      return path.join(dir, 'var/roots', branch, keys[0]!);
    };
    const special = rootOf('special');
    expect(statSync(path.join(special, 'bin/su')).mode & 0o7777).toBe(0o755);
    expect(statSync(path.join(special, 'bin/wall')).mode & 0o7777).toBe(0o755);
    expect(statSync(path.join(special, 'run/initctl')).isFIFO()).toBe(true);
    expect(readdirSync(path.join(rootOf('many'), 'share'))).toHaveLength(200);
  });
});


