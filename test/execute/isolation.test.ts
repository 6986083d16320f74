/**
 * Overlay isolation on this machine, with a real busybox root: what a build sees,
 * what survives it, the network and the limits. Builds go through LocalTransport
 * (the same code reconcile runs); the unprivileged case runs the step command as
 * `nobody` through setpriv.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalShell, LocalTransport } from '../../src/execute/localTransport.js';
import { diskFull, limitExceeded, probeIsolation, stepCommand, workspaceDirs, type IsolationSupport } from '../../src/execute/isolation.js';
import { runStep } from '../../src/execute/runStep.js';
import type { BuildLimits, HostConfig, HostName, PipelineConfig, PipelineStep } from '../../src/config/types.js';
import type { BuildRequest, BuildResult, HostShell } from '../../src/execute/transport.js';
import { makeBusyboxRoot } from '../helpers/busyboxRoot.js';
import { waitFor } from '../helpers/reconcile-process.js';
import { makeTree, removeTree } from '../helpers/testdir.js';

const HOST: HostConfig = { name: 'local' as HostName, transport: 'local', power: 2, labels: [], port: 22, workdir: '/var/tmp/buildfleet', file: 'hosts.yaml', position: { line: 1, col: 1 } };

let dir: string;
let root: string;
let server: Server;
let port: number;
/** This machine's probe, as reconcile hands it to the transport (launcher, cgroups). */
let probed: IsolationSupport & { overlay: true };
/** The same without the Perl launcher and without cgroups: unshare, sh, mount and rlimits. */
let shellOnly: IsolationSupport & { overlay: true };

beforeAll(async () => {
  dir = makeTree({ 'host-secret.txt': 'only on the host\n' });
  chmodSync(dir, 0o755);
  root = makeBusyboxRoot(path.join(dir, 'root'));
  const support = await probeIsolation(new LocalShell(), dir);
  if (!support.overlay) throw new Error(`this machine cannot isolate: ${support.reason}`);
  probed = support;
  const root_ = process.getuid?.() === 0;
  shellOnly = { ...support, launcher: 'shell', cgroups: [], limits: { memory: 'rlimit', processes: root_ ? 'unsupported' : 'rlimit' } };
  server = createServer((socket) => socket.end('hello from the host\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  removeTree(dir);
});

function pipeline(steps: readonly Partial<PipelineStep>[], limits: BuildLimits = {}): PipelineConfig {
  return {
    name: 'isolated',
    file: 'pipelines/isolated.yaml',
    steps: steps.map((s, i) => ({ name: s.name ?? `step${i + 1}`, run: s.run ?? 'true', timeoutSeconds: 60, network: s.network ?? false })),
    artifacts: [],
    isolation: 'overlay',
    limits,
    digest: 'x',
  };
}

let counter = 0;
/** Builds a fresh one-file recipe with pipeline `p` on the shared busybox root (`root: null`: none), on this machine as probed (or as `support` says). */
async function build(p: PipelineConfig, options: { root?: string | null; support?: IsolationSupport } = {}): Promise<{ result: BuildResult; log: string }> {
  const id = `pkg${++counter}`;
  const recipeDir = path.join(dir, 'recipes', id);
  mkdirSync(recipeDir, { recursive: true });
  writeFileSync(path.join(recipeDir, 'recipe.yaml'), `name: ${id}\nversion: "1.0"\n`);
  const transport = new LocalTransport({ host: HOST, stateDir: path.join(dir, 'state'), baseEnv: { PATH: '/usr/bin:/bin' }, isolation: options.support ?? probed });
  const logFile = path.join(dir, 'logs', `${id}.log`);
  const request: BuildRequest = {
    runId: 'test',
    branch: 'main',
    recipeId: id,
    packages: [id],
    version: '1.0-1',
    fingerprint: 'f',
    recipeDir,
    pipeline: p,
    deps: [],
    logFile,
    signal: new AbortController().signal,
    graceSeconds: 2,
    keepFailedWorkspace: false,
    ...(options.root === null ? {} : { root: options.root ?? root }),
  };
  const result = await transport.build(request);
  return { result, log: readFileSync(logFile, 'utf8') };
}

/** The artifact's text (the build writes one file to $BUILDFLEET_OUT). */
function artifact(result: BuildResult): string {
  expect(result.status, result.tail.join('\n')).toBe('built');
  return readFileSync(result.artifacts[0]!.path, 'utf8');
}

describe('overlay isolation', () => {
  it('the probe finds this host able to isolate, with the Perl launcher, and says how it holds the limits', async () => {
    const uid = process.getuid?.() ?? 0;
    const support = await probeIsolation(new LocalShell(), dir);
    const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
    expect(support).toMatchObject({ overlay: true, user: uid === 0 ? 'root' : `uid ${uid}`, launcher: 'perl', arch });
    if (!support.overlay) return;
    // cgroups where the user can make them; else rlimits, which hold no process limit for root.
    expect(support.limits).toEqual({
      memory: support.cgroups.includes('memory') ? 'cgroup' : 'rlimit',
      processes: support.cgroups.includes('pids') ? 'cgroup' : uid === 0 ? 'unsupported' : 'rlimit',
    });
    // This machine (cgroup v1, root): both controllers are writable; the probe's test cgroups are gone.
    if (uid === 0 && existsSync('/sys/fs/cgroup/pids/cgroup.procs')) expect(support.cgroups).toEqual(['memory', 'pids']);
    expect(readdirSync('/sys/fs/cgroup/pids').filter((f) => f.startsWith('buildfleet-probe'))).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('buildfleet-probe'))).toEqual([]);
  });

  /** A shell on this machine whose PATH has only `tools` (links to this machine's). */
  function shellWith(name: string, tools: readonly string[]): HostShell {
    const bin = path.join(dir, name);
    mkdirSync(bin);
    for (const tool of tools) symlinkSync(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), path.join(bin, tool));
    const local = new LocalShell();
    return { exec: (argv, options) => local.exec(['env', `PATH=${bin}`, ...argv], options), upload: (a, b) => local.upload(a, b) };
  }
  const PROBE_TOOLS = ['sh', 'id', 'uname', 'mktemp', 'mkdir', 'rmdir', 'rm', 'chmod', 'tr', 'cut', 'touch', 'true'];

  it('the probe says what is missing on a host without bubblewrap', async () => {
    const shell = shellWith('no-bwrap-bin', [...PROBE_TOOLS, 'perl', 'unshare', 'mount', 'prlimit']);
    expect(await probeIsolation(shell, dir)).toEqual({ overlay: false, reason: 'bwrap not found (install bubblewrap; overlay isolation is Linux only)' });
  });

  it('the probe picks the shell launcher on a host without perl, and needs unshare there', async () => {
    const withoutPerl = await probeIsolation(shellWith('no-perl-bin', [...PROBE_TOOLS, 'bwrap', 'unshare', 'mount', 'prlimit']), dir);
    expect(withoutPerl, JSON.stringify(withoutPerl)).toMatchObject({ overlay: true, launcher: 'shell' });
    expect(await probeIsolation(shellWith('bwrap-only-bin', [...PROBE_TOOLS, 'bwrap']), dir)).toEqual({
      overlay: false,
      reason: 'unshare not found (install util-linux; overlay isolation is Linux only)',
    });
  });

  it('the shell launcher (unshare, sh, mount; rlimits) isolates as the Perl launcher does', { timeout: 30_000 }, async () => {
    const p = pipeline([
      { run: 'echo usr > /usr/written' },
      { run: `{ cat /usr/written; test -e '${path.join(dir, 'host-secret.txt')}' && echo host-visible || echo host-hidden; pwd; } > $BUILDFLEET_OUT/report.txt` },
    ]);
    const { result, log } = await build(p, { support: shellOnly });
    expect(log).toContain('step step1: echo usr > /usr/written');
    expect(artifact(result)).toBe('usr\nhost-hidden\n/build\n');
    await result.release();
    expect(readdirSync(path.join(root, 'usr'))).toEqual(['bin']);
  });

  it('shows the build its root, not the host; keeps writes to / between its steps and drops them after', { timeout: 30_000 }, async () => {
    const first = await build(
      pipeline([
        { run: 'echo usr > /usr/written; echo etc > /etc/written; echo tmp > /tmp/written' },
        {
          run: [
            `test -e '${path.join(dir, 'host-secret.txt')}' && echo host-visible || echo host-hidden`,
            'cat /etc/os-release | head -1',
            'cat /usr/written /etc/written /tmp/written',
            'echo "out=$BUILDFLEET_OUT deps=$BUILDFLEET_DEPS root=$BUILDFLEET_ROOT pwd=$(pwd)"',
            'cat recipe.yaml | head -1',
          ]
            .map((l) => `${l} >> $BUILDFLEET_OUT/report.txt`)
            .join('; '),
        },
      ]),
    );
    expect(artifact(first.result).split('\n')).toEqual([
      'host-hidden',
      'NAME="buildfleet busybox root"',
      'usr',
      'etc',
      'tmp',
      'out=/out deps=/deps root=/ pwd=/build',
      `name: ${'pkg' + counter}`,
      '',
    ]);
    await first.result.release();
    // The shared root is unchanged, and the next build on it sees none of it.
    expect(readdirSync(path.join(root, 'usr'))).toEqual(['bin']);
    expect(existsSync(path.join(root, 'etc/written'))).toBe(false);
    const second = await build(pipeline([{ run: 'ls /usr /etc /tmp > $BUILDFLEET_OUT/listing.txt' }]));
    expect(artifact(second.result)).toBe('/etc:\nos-release\n\n/tmp:\n\n/usr:\nbin\n');
    await second.result.release();
  });

  it('keeps two concurrent builds on one root apart', { timeout: 30_000 }, async () => {
    // A barrier on the host's loopback: it answers once both builds have connected, that is
    // once both have written their file; each then lists /etc.
    const waiting: import('node:net').Socket[] = [];
    const barrier = createServer({ allowHalfOpen: true }, (socket) => {
      waiting.push(socket);
      if (waiting.length === 2) for (const s of waiting) s.end('go\n');
    });
    await new Promise<void>((resolve) => barrier.listen(0, '127.0.0.1', resolve));
    const barrierPort = (barrier.address() as { port: number }).port;
    const step = (name: string): Partial<PipelineStep> => ({
      run: `echo ${name} > /etc/mine-${name} && nc 127.0.0.1 ${barrierPort} </dev/null > /tmp/go && grep -q go /tmp/go && ls /etc > $BUILDFLEET_OUT/etc.txt`,
      network: true,
    });
    try {
      const [a, b] = await Promise.all([build(pipeline([step('a')])), build(pipeline([step('b')]))]);
      expect(artifact(a.result)).toBe('mine-a\nos-release\n');
      expect(artifact(b.result)).toBe('mine-b\nos-release\n');
      await a.result.release();
      await b.result.release();
    } finally {
      await new Promise<void>((resolve) => barrier.close(() => resolve()));
    }
  });

  it('reaches no network unless the step says network: true', { timeout: 30_000 }, async () => {
    const connect = `nc 127.0.0.1 ${port} > $BUILDFLEET_OUT/reply.txt 2>&1 || echo "connect failed: $?" >> $BUILDFLEET_OUT/reply.txt`;
    const closed = await build(pipeline([{ run: connect }]));
    const text = artifact(closed.result);
    await closed.result.release();
    expect(text).toMatch(/connect failed/);
    expect(text).not.toContain('hello from the host');
    const open = await build(pipeline([{ run: connect, network: true }]));
    expect(artifact(open.result)).toBe('hello from the host\n');
    await open.result.release();
  });

  it('holds memory and process count in the build\'s cgroups, also for root: over either, the build fails with the limit named', { timeout: 60_000 }, async (ctx) => {
    if (probed.cgroups.length < 2) ctx.skip();
    const memory = await build(pipeline([{ name: 'build', run: 'dd if=/dev/zero of=/dev/null bs=200M count=1' }], { memoryBytes: 64 * 1024 * 1024 }));
    expect(memory.result.status).toBe('failed');
    // The kernel's OOM killer ends dd (SIGKILL: 128 + 9); the cgroup counted it.
    expect(memory.result.message).toBe('out of memory: limit 64M (limits.memory): the step exited with status 137');
    expect(memory.log).toContain('buildfleet: build out of memory: limit 64M (limits.memory)');
    const forks = await build(pipeline([{ name: 'build', run: 'for i in $(seq 40); do sleep 1 & done; wait' }], { processes: 16 }));
    expect(forks.result.status).toBe('failed');
    expect(forks.result.message).toMatch(/^too many processes: limit 16 \(limits\.processes\): the step exited with status \d+$/);
    expect(forks.log).not.toContain('not enforced');
    // Under the limits the same kind of build passes, and no cgroup of a build is left behind.
    const fine = await build(pipeline([{ run: 'for i in $(seq 4); do sleep 0.1 & done; wait; dd if=/dev/zero of=/out/small bs=1M count=8' }], { memoryBytes: 64 * 1024 * 1024, processes: 16 }));
    expect(fine.result.status, fine.log).toBe('built');
    await fine.result.release();
    const own = (controller: string): string => {
      const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
      return path.join('/sys/fs/cgroup', controller, line!.split(':')[2]!);
    };
    for (const c of ['memory', 'pids']) expect(readdirSync(own(c)).filter((f) => f.startsWith('buildfleet-pkg'))).toEqual([]);
  });

  it('without cgroups, holds memory and output as rlimits and names them from the signs of the failure', { timeout: 30_000 }, async () => {
    const memory = await build(pipeline([{ name: 'build', run: 'dd if=/dev/zero of=/dev/null bs=200M count=1' }], { memoryBytes: 64 * 1024 * 1024 }), { support: shellOnly });
    expect(memory.result.status).toBe('failed');
    expect(memory.result.message).toBe('out of memory: limit 64M (limits.memory): the step exited with status 1');
    expect(memory.log).toContain('buildfleet: build out of memory: limit 64M (limits.memory)');
    const output = await build(pipeline([{ name: 'build', run: 'dd if=/dev/zero of=/out/big bs=1M count=8' }], { outputBytes: 1024 * 1024 }));
    expect(output.result.status).toBe('failed');
    expect(output.result.message).toMatch(/^output too large: limit 1M \(limits\.output\)/);
    // Under the limits the same kind of build passes.
    const fine = await build(pipeline([{ run: 'dd if=/dev/zero of=/out/small bs=1K count=8 && dd if=/dev/zero of=/dev/null bs=1M count=1' }], { memoryBytes: 64 * 1024 * 1024, outputBytes: 1024 * 1024, processes: 64 }), { support: shellOnly });
    expect(fine.result.status, fine.log).toBe('built');
    // Root is exempt from RLIMIT_NPROC: without a pids cgroup, the log says the process limit does not hold here.
    expect(fine.log.includes('limits.processes is not enforced here')).toBe(process.getuid?.() === 0);
    await fine.result.release();
  });

  it('stops a hung isolated step with everything it started, inside its namespaces', { timeout: 60_000 }, async () => {
    const marker = `98${process.pid}.5`;
    const p = pipeline([{ name: 'build', run: `echo started; sleep ${marker} & sleep ${marker}` }]);
    const hung: PipelineConfig = { ...p, steps: p.steps.map((s) => ({ ...s, idleTimeoutSeconds: 1 })) };
    const { result, log } = await build(hung);
    expect(result.status).toBe('failed');
    expect(result.message).toContain('idleTimeout');
    expect(log).toContain('started');
    await waitFor(`the sleeps marked ${marker} to end`, () => processesWith(marker).length === 0, 20_000);
  });

  it('takes every process of a step down with it when buildfleet dies (kill -9)', { timeout: 60_000 }, async () => {
    const marker = `97${process.pid}.5`;
    const workspace = path.join(dir, 'orphan-ws');
    for (const d of ['build', ...workspaceDirs('overlay')]) mkdirSync(path.join(workspace, d), { recursive: true });
    const command = stepCommand({ run: `sleep ${marker} & sleep ${marker}`, isolation: 'overlay', workspace, root, network: false, limits: {} });
    if (!command.ok) throw new Error(command.message);
    // A stand-in for the buildfleet process: a shell that starts the step and waits for it.
    const parent = spawn('sh', ['-c', '"$@" & wait', 'buildfleet', ...command.command.argv], { cwd: command.command.cwd, stdio: 'ignore', detached: true });
    await waitFor(`the sleeps marked ${marker} to start`, () => processesWith(marker).length === 2, 20_000);
    process.kill(parent.pid!, 'SIGKILL');
    await waitFor(`the sleeps marked ${marker} to end`, () => processesWith(marker).length === 0, 20_000);
  });

  it('refuses an overlay build without a root', async () => {
    const { result, log } = await build(pipeline([{ name: 'build', run: 'echo built > $BUILDFLEET_OUT/x' }]), { root: null });
    expect(result.status).toBe('failed');
    expect(result.message).toBe("isolation: overlay needs the branch's prerequisite root, and this build has none");
    expect(log).toContain('buildfleet: build isolation: overlay needs');
  });
});

describe('overlay isolation for an unprivileged build user (nobody, via setpriv)', () => {
  it('isolates the same way and enforces the process limit', { timeout: 30_000 }, async () => {
    const userDir = path.join(dir, 'nobody');
    const userRoot = makeBusyboxRoot(path.join(userDir, 'root'));
    const workspace = path.join(userDir, 'ws');
    for (const d of ['build', ...workspaceDirs('overlay')]) mkdirSync(path.join(workspace, d), { recursive: true });
    for (const p of [userDir, ...walk(userRoot), ...walk(workspace)]) lchownSync(p, 65534, 65534);

    const run = async (script: string, limits: BuildLimits, host?: IsolationSupport): Promise<{ outcome: Awaited<ReturnType<typeof runStep>>; output: string }> => {
      const command = stepCommand({ run: script, isolation: 'overlay', workspace, root: userRoot, network: false, limits, ...(host !== undefined ? { host } : {}) });
      if (!command.ok) throw new Error(command.message);
      let output = '';
      const outcome = await runStep({
        argv: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...command.command.argv],
        cwd: command.command.cwd,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...command.command.env },
        timeoutSeconds: 60,
        graceSeconds: 2,
        onOutput: (chunk) => (output += chunk.toString()),
      });
      return { outcome, output };
    };
    const ok = await run(`id -u; echo x > /usr/x && cat /usr/x; test -e '${path.join(dir, 'host-secret.txt')}' || echo hidden`, { processes: 16 });
    expect(ok.outcome, ok.output).toEqual({ kind: 'ok' });
    expect(ok.output).toBe('0\nx\nhidden\n');
    expect(existsSync(path.join(userRoot, 'usr/x'))).toBe(false);

    const forks = await run('for i in $(seq 40); do sleep 1 & done; wait', { processes: 16 });
    expect(forks.outcome.kind).toBe('exit-non-zero');
    expect(limitExceeded({ processes: 16 }, forks.outcome, forks.output.split('\n'))).toBe('too many processes: limit 16 (limits.processes)');

    // The same through the Perl launcher (it maps the user and sets the rlimits itself); a nobody's probe finds no cgroups.
    const perl: IsolationSupport = { ...probed, user: 'uid 65534', cgroups: [], limits: { memory: 'rlimit', processes: 'rlimit' } };
    const okPerl = await run(`id -u; echo y > /usr/y && cat /usr/y; test -e '${path.join(dir, 'host-secret.txt')}' || echo hidden`, { processes: 16 }, perl);
    expect(okPerl.outcome, okPerl.output).toEqual({ kind: 'ok' });
    expect(okPerl.output).toBe('0\ny\nhidden\n');
    expect(existsSync(path.join(userRoot, 'usr/y'))).toBe(false);
    const forksPerl = await run('for i in $(seq 40); do sleep 1 & done; wait', { processes: 16 }, perl);
    expect(limitExceeded({ processes: 16 }, forksPerl.outcome, forksPerl.output.split('\n'))).toBe('too many processes: limit 16 (limits.processes)');
  });
});

function walk(p: string): string[] {
  const out = [p];
  for (const entry of readdirSync(p, { withFileTypes: true })) {
    const child = path.join(p, entry.name);
    if (entry.isDirectory()) out.push(...walk(child));
    else out.push(child);
  }
  return out;
}

/** Pids of the host's processes whose command line contains `text`. */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('diskFull', () => {
  const full = ["dd: error writing 'big': No space left on device", '64+0 records in'];
  it.each([
    { outcome: { kind: 'exit-non-zero', exitCode: 1 } as const, tail: full, expected: 'disk full ("No space left on device" in the build\'s output)' },
    { outcome: { kind: 'killed-by-signal', signal: 'SIGPIPE' } as const, tail: ['write: ENOSPC'], expected: 'disk full ("No space left on device" in the build\'s output)' },
    { outcome: { kind: 'exit-non-zero', exitCode: 2 } as const, tail: ['make: *** [all] Error 2'], expected: undefined },
    // A timeout is the timeout, whatever was printed before it.
    { outcome: { kind: 'timeout', seconds: 60 } as const, tail: full, expected: undefined },
  ])('$outcome.kind with "$tail.0": $expected', ({ outcome, tail, expected }) => {
    expect(diskFull(outcome, tail)).toBe(expected);
  });
});
