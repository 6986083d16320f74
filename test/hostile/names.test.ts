/**
 * Hostile names, versions and fields in the three recipe formats (native
 * recipe.yaml, .SRCINFO, FreeBSD INDEX): shell metacharacters, newlines, `..`,
 * absolute paths, 64 KiB strings and bytes that are not UTF-8. Each bad recipe is
 * skipped as invalid-recipe with a located, readable error (its dependents with
 * it), the rest of the branch builds, nothing runs the strings (no canary file
 * appears) and nothing is written outside the state and repo directories.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { diagnosticLines, findCanaries, listTree, LONG, PATH_STRINGS, shellStrings } from '../helpers/hostile.js';
import { readIndex, repoProblems, resultSummary, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { BASE_HOSTS, testdir, writeFiles, type Files } from '../helpers/testdir.js';

/** Longest diagnostic line we accept: a 64 KiB value must be cut, not printed whole. */
const MAX_LINE = 400;

const PIPELINE = `steps:\n  - name: build\n    run: '${WRITE_ARTIFACT}'\n    timeout: 1m\n`;

function branch(format: string, extra = ''): string {
  return `source:\n  path: tree\n  format: ${format}\n${extra}pipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`;
}

/** A directory whose only purpose is to receive canaries; it must stay empty. */
function canaryDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-canaries-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A YAML double-quoted scalar holding exactly `value` (JSON is YAML). */
const q = (value: string): string => JSON.stringify(value);

function writeBytes(root: string, rel: string, bytes: Buffer): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), bytes);
}

/** What a run may leave in the config directory besides the config: the state and the repo. */
function outsideStateAndRepo(dir: string, config: readonly string[]): string[] {
  return listTree(dir).filter((p) => !p.startsWith('var/') && !p.startsWith('repos/') && !config.some((c) => p === c || p.startsWith(c)));
}

async function reconcile(dir: string): Promise<{ code: number | null; doc: RunDocument; stderr: string }> {
  const run = await runCli(['-C', dir, 'reconcile', '--format', 'json'], { cwd: dir });
  return { code: run.code, doc: JSON.parse(run.stdout) as RunDocument, stderr: run.stderr };
}

describe('hostile recipe.yaml files', () => {
  it('skips each with a located error, builds the rest, runs nothing and writes nowhere else', async () => {
    const canaries = canaryDir();
    const hostile = { ...shellStrings(canaries), ...PATH_STRINGS, long: LONG };
    const files: Files = { 'hosts.yaml': BASE_HOSTS, 'pipelines/shell.yaml': PIPELINE, 'branches/main.yaml': branch('recipe') };
    const recipe = (dir: string, body: string): void => void (files[`tree/${dir}/recipe.yaml`] = body);
    const expected: string[] = [];
    for (const [label, value] of Object.entries(hostile)) {
      recipe(`name-${label}`, `name: ${q(value)}\nversion: "1"\n`);
      recipe(`version-${label}`, `name: version-${label}\nversion: ${q(value)}\n`);
      recipe(`release-${label}`, `name: release-${label}\nversion: "1"\nrelease: ${q(value)}\n`);
      recipe(`depends-${label}`, `name: depends-${label}\nversion: "1"\ndepends: [${q(value)}]\n`);
      recipe(`provides-${label}`, `name: provides-${label}\nversion: "1"\nprovides: [${q(value)}]\n`);
      // Free text: accepted, and never run.
      recipe(`desc-${label}`, `name: desc-${label}\nversion: "1"\ndescription: ${q(value)}\n`);
      expected.push(
        `name-${label} skipped invalid-recipe`,
        `version-${label} skipped invalid-recipe`,
        `release-${label} skipped invalid-recipe`,
        `depends-${label} skipped invalid-recipe`,
        `provides-${label} skipped invalid-recipe`,
        `desc-${label} built`,
      );
    }
    recipe('epoch-long', `name: epoch-long\nversion: "1"\nepoch: "${'9'.repeat(64 * 1024)}"\n`);
    expected.push('epoch-long skipped invalid-recipe');
    // Directory names with shell syntax (relative canaries: the command runs with the config directory as cwd).
    for (const label of ['subst', 'semicolon', 'newline']) {
      const name = { subst: 'x$(touch canary-dir)', semicolon: 'x;touch canary-dir', newline: 'x\ntouch canary-dir' }[label]!;
      recipe(name, `name: ${q(name)}\nversion: "1"\n`);
      expected.push(`${name} skipped invalid-recipe`);
    }
    recipe('ok', 'name: ok\nversion: "1.0"\n');
    recipe('needs-bad', 'name: needs-bad\nversion: "1"\ndepends: [version-subst]\n');
    expected.push('ok built', 'needs-bad skipped dependency-skipped');
    const dir = testdir(files);
    // Bytes that are not UTF-8: in the name (refused), in a comment (harmless).
    writeBytes(dir, 'tree/bytes-name/recipe.yaml', Buffer.concat([Buffer.from('name: bytes-'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\nversion: "1"\n')]));
    writeBytes(dir, 'tree/bytes-version/recipe.yaml', Buffer.concat([Buffer.from('name: bytes-version\nversion: "1.'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]));
    writeBytes(dir, 'tree/bytes-comment/recipe.yaml', Buffer.concat([Buffer.from('# '), Buffer.from([0xff, 0x00, 0x1b]), Buffer.from('\nname: bytes-comment\nversion: "1"\n')]));
    expected.push('bytes-name skipped invalid-recipe', 'bytes-version skipped invalid-recipe', 'bytes-comment built');

    const validate = await runCli(['-C', dir, 'validate'], { cwd: dir });
    const lines = diagnosticLines(validate.stderr);
    for (const line of validate.stderr.split('\n')) expect(line.length, line.slice(0, 200)).toBeLessThanOrEqual(MAX_LINE);
    // Every refused recipe is named by a diagnostic; those inside the file carry line and column.
    for (const entry of expected.filter((e) => e.endsWith('invalid-recipe'))) {
      const id = entry.slice(0, -' skipped invalid-recipe'.length);
      // A name with a newline is quoted as a JSON string, so that the diagnostic stays one line.
      const file = id.includes('\n') ? JSON.stringify(`tree/${id}/recipe.yaml`) : `tree/${id}/recipe.yaml`;
      const line = lines.find((l) => l.startsWith(file));
      expect(line, `no diagnostic for ${JSON.stringify(id)} in:\n${validate.stderr.slice(0, 4000)}`).toBeDefined();
      if (!id.includes('$') && !id.includes(';') && !id.includes('\n')) expect(line).toMatch(/^tree\/[^:]+\/recipe\.yaml:\d+:\d+: error: /);
    }
    expect(validate.stderr).toContain(`tree/version-long/recipe.yaml:2:10: error: version is ${LONG.length} characters long; at most 100 are allowed`);
    expect(validate.stderr).toContain(`tree/name-long/recipe.yaml:1:7: error: name is ${LONG.length} characters long; at most 100 are allowed`);

    const { code, doc } = await reconcile(dir);
    expect(code).toBe(3);
    expect(resultSummary(doc)).toEqual(expected.sort());
    expect(findCanaries(dir, [canaries, os.tmpdir()])).toEqual([]);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['bytes-comment', ...Object.keys(hostile).map((l) => `desc-${l}`), 'ok'].sort());
    expect(outsideStateAndRepo(dir, ['hosts.yaml', 'pipelines/', 'branches/', 'tree/'])).toEqual([]);
    expect(readdirSync(path.join(dir, 'var/main/work'))).toEqual([]);
  });
});

describe('hostile .SRCINFO files', () => {
  it('skips each with a located error and runs nothing', async () => {
    const canaries = canaryDir();
    const hostile = { ...shellStrings(canaries), ...PATH_STRINGS, long: LONG };
    const files: Files = { 'hosts.yaml': BASE_HOSTS, 'pipelines/shell.yaml': PIPELINE, 'branches/main.yaml': branch('srcinfo') };
    const srcinfo = (dir: string, fields: Record<string, string>): void => {
      const { pkgbase, pkgname, ...rest } = { pkgbase: dir, pkgname: dir, pkgver: '1', pkgrel: '1', arch: 'any', ...fields };
      const body = Object.entries(rest)
        .map(([k, v]) => `\t${k} = ${v}\n`)
        .join('');
      files[`tree/${dir}/.SRCINFO`] = `pkgbase = ${pkgbase}\n${body}\npkgname = ${pkgname}\n`;
    };
    const expected: string[] = [];
    for (const [label, value] of Object.entries(hostile)) {
      // A newline ends a .SRCINFO line: the rest is a line of its own, which must not parse as a field.
      srcinfo(`pkgbase-${label}`, { pkgbase: value });
      srcinfo(`pkgver-${label}`, { pkgver: value });
      srcinfo(`pkgrel-${label}`, { pkgrel: value });
      srcinfo(`epoch-${label}`, { epoch: value });
      srcinfo(`pkgname-${label}`, { pkgname: value });
      expected.push(...['pkgbase', 'pkgver', 'pkgrel', 'epoch', 'pkgname'].map((f) => `${f}-${label} skipped invalid-recipe`));
      // A dependency nobody provides: an Arch tree treats it as external (the build does not wait for it).
      srcinfo(`dep-${label}`, { depends: value.replace(/\n/g, ' ') });
    }
    srcinfo('ok', {});
    expected.push('ok built');
    const dir = testdir(files);
    writeBytes(dir, 'tree/bytes/.SRCINFO', Buffer.concat([Buffer.from('pkgbase = bytes\n\tpkgver = 1.'), Buffer.from([0xff, 0xfe]), Buffer.from('\n\tpkgrel = 1\n\tarch = any\n\npkgname = bytes\n')]));
    expected.push('bytes skipped invalid-recipe');

    const plan = await runCli(['-C', dir, 'plan', '--format', 'json'], { cwd: dir });
    for (const line of plan.stderr.split('\n')) expect(line.length, line.slice(0, 200)).toBeLessThanOrEqual(MAX_LINE);
    const lines = diagnosticLines(plan.stderr);
    for (const id of expected.filter((e) => e.endsWith('invalid-recipe')).map((e) => e.split(' ')[0]!)) {
      expect(
        lines.some((l) => new RegExp(`^tree/${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.SRCINFO:\\d+:\\d+: error: `).test(l)),
        `no located diagnostic for ${id}:\n${plan.stderr.slice(0, 3000)}`,
      ).toBe(true);
    }
    expect(plan.stderr).toContain(`tree/pkgver-long/.SRCINFO:2:2: error: pkgver "${'a'.repeat(80)}…" (${LONG.length} characters) is not a valid version`);

    const { doc } = await reconcile(dir);
    const summary = resultSummary(doc);
    for (const e of expected) expect(summary).toContain(e);
    expect(findCanaries(dir, [canaries, os.tmpdir()])).toEqual([]);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
    expect(outsideStateAndRepo(dir, ['hosts.yaml', 'pipelines/', 'branches/', 'tree/'])).toEqual([]);
  });
});

describe('a hostile FreeBSD INDEX', () => {
  it('refuses versions and names that are not, and keeps every log inside the state directory', async () => {
    const canaries = canaryDir();
    const line = (pkgname: string, origin: string, run = ''): string =>
      [pkgname, `/usr/ports/${origin}`, '/usr/local', 'a port', `/usr/ports/${origin}/pkg-descr`, 'ports@FreeBSD.org', origin.split('/')[0], '', run, '', '', '', ''].join('|');
    const lines: string[] = [line('ok-1.0_1', 'devel/ok')];
    const expected = ['devel/ok built'];
    const hostile = { ...shellStrings(canaries), ...PATH_STRINGS, long: LONG };
    let n = 0;
    for (const value of Object.values(hostile)) {
      if (value.includes('\n') || value.includes('|')) continue; // a newline or | splits the line itself: covered by the field count
      lines.push(line(`v${n}-${value}`, `devel/v${n}`));
      expected.push(`devel/v${n} skipped invalid-recipe`);
      lines.push(line(`${value}-1.0`, `devel/n${n}`));
      expected.push(`devel/n${n} skipped invalid-recipe`);
      n++;
    }
    // The path field with `..` and shell syntax: no category/port, refused.
    lines.push([`p-1`, `/usr/ports/../../$(touch ${canaries}/canary-path)`, ...Array<string>(11).fill('')].join('|'));
    // A line split by a newline inside PKGNAME: the pieces have the wrong field count.
    lines.push(line(`nl-1.0\ntouch ${canaries}/canary-nl`, 'devel/nl'));
    // A dependency field naming shell syntax: an unknown dependency, the port is held back, nothing runs.
    lines.push(line('dep-1', 'devel/dep', `x;touch ${canaries}/canary-dep`));
    const dir = testdir({
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': `steps:\n  - name: build\n    run: 'printf x > "$BUILDFLEET_OUT/$(basename "$BUILDFLEET_PACKAGE")-$BUILDFLEET_VERSION.pkg"'\n    timeout: 1m\n`,
      'branches/main.yaml': branch('freebsd-index'),
    });
    writeBytes(dir, 'tree/INDEX', Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from('bytes-1.'), Buffer.from([0xff]), Buffer.from('|/usr/ports/devel/bytes|/usr/local|c|d|m|devel||||||\n')]));
    expected.push('devel/bytes skipped invalid-recipe');
    writeFiles(dir, Object.fromEntries(['ok', 'dep', 'bytes', ...Array.from({ length: n }, (_, i) => `v${i}`)].map((p) => [`tree/devel/${p}/Makefile`, 'PORTNAME=x\n'])));

    const plan = await runCli(['-C', dir, 'plan'], { cwd: dir });
    for (const l of plan.stderr.split('\n')) expect(l.length, l.slice(0, 200)).toBeLessThanOrEqual(MAX_LINE);
    expect(plan.stderr).toMatch(/^tree\/INDEX:\d+:4: error: "1\.0\/\.\.\/\.\.\/x" is not a version$/m);

    const { doc } = await reconcile(dir);
    const summary = resultSummary(doc);
    for (const e of expected) expect(summary).toContain(e);
    expect(summary.find((s) => s.startsWith('devel/dep '))).toMatch(/devel\/dep (skipped|built)/);
    expect(findCanaries(dir, [canaries, os.tmpdir()])).toEqual([]);
    // Logs of every build stay under <state>/main/logs/<category>/.
    expect(listTree(path.join(dir, 'var')).filter((p) => p.endsWith('.log') && !/^main\/(logs|errors)\/devel\/[^/]+\.log$/.test(p))).toEqual([]);
    expect(outsideStateAndRepo(dir, ['hosts.yaml', 'pipelines/', 'branches/', 'tree/'])).toEqual([]);
  });
});
