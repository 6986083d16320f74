/**
 * Throw-away build environments: the command line of a pipeline step, built from
 * the step, the workspace, the branch's prerequisite root, the network setting and
 * the pipeline's limits. Pure: the local and the SSH transports both run what this
 * returns (argv, working directory, variables), so a step is isolated the same way
 * on every host. What a host needs for it, and how to check, is in docs/ISOLATION.md
 * and {@link probeIsolation}.
 *
 * With `overlay`, one step runs as
 *
 *     unshare --user --map-root-user --mount -- sh -c MOUNT_OVERLAY …
 *       [prlimit --as --nproc --fsize --] bwrap --bind <merged> / --bind <build> /build …
 *         /bin/sh -c <run>
 *
 * `unshare` makes a user and a mount namespace (the user namespace lets an
 * unprivileged build user mount; as root it maps root to itself), the shell mounts
 * an overlay filesystem whose lower layer is the prerequisite root (never written)
 * and whose upper layer lives in the workspace (it survives between the build's
 * steps and goes with the workspace), and bubblewrap makes the rest: the workspace
 * bound at /build, /deps (read-only), /out and /tmp, a new /proc, a minimal /dev,
 * new PID, IPC and UTS namespaces and, unless the step has `network: true`, a
 * network namespace holding only loopback. Limits are rlimits set inside the user
 * namespace, so that the process count is the build's own.
 */
import type { BuildLimits, IsolationMode } from '../config/types.js';
import { formatSize } from '../config/types.js';
import { CGROUP_PROBE, type BuildCgroups, type CgroupController, type CgroupHits } from './buildCgroups.js';
import type { HostShell } from './transport.js';
import type { StepOutcome } from './runStep.js';

/** Paths inside an isolated build (and the values of BUILDFLEET_OUT, _DEPS, _ROOT, TMPDIR there). */
export const ISOLATED_PATHS = { build: '/build', deps: '/deps', out: '/out', tmp: '/tmp', root: '/' } as const;

/** Workspace subdirectories a transport makes before the first step (relative to the workspace). */
export function workspaceDirs(mode: IsolationMode): readonly string[] {
  return mode === 'overlay' ? ['deps', 'out', 'tmp', 'overlay', 'overlay/upper', 'overlay/work', 'overlay/merged'] : ['deps', 'out', 'tmp'];
}

export interface StepCommandInput {
  /** The step's shell command (`sh -c`). */
  readonly run: string;
  readonly isolation: IsolationMode;
  /** Absolute path on the host of the build's workspace (build/, deps/, out/, tmp/, overlay/). */
  readonly workspace: string;
  /** Absolute path on the host of the branch's prerequisite root; required for overlay. */
  readonly root?: string;
  /** The step may reach the network (overlay only; without isolation it always can). */
  readonly network: boolean;
  readonly limits: BuildLimits;
  /** What the host's probe found (the launcher to use); without it, the shell launcher. */
  readonly host?: IsolationSupport;
  /** The build's cgroups: joined before the namespaces are made; the limits they hold are not rlimits. */
  readonly cgroups?: BuildCgroups;
}

export interface StepCommand {
  /** Program and arguments; no element is interpreted by a shell on the way. */
  readonly argv: readonly string[];
  /** Host directory to start it in. */
  readonly cwd: string;
  /** Variables that depend on where the build sees its directories (BUILDFLEET_OUT, _DEPS, _ROOT, TMPDIR, HOME). */
  readonly env: Readonly<Record<string, string>>;
}

export type StepCommandResult = { readonly ok: true; readonly command: StepCommand } | { readonly ok: false; readonly message: string };

/**
 * The shell launcher, run by `unshare` inside the new user and mount namespaces: joins
 * the cgroups ($3: directories, one a line), mounts the overlay ($1 lower, $2 workspace),
 * then runs the rest of the arguments.
 */
const MOUNT_OVERLAY = 'for d in $3; do echo $$ > "$d/cgroup.procs" || exit 126; done; mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/overlay/upper,workdir=$2/overlay/work" "$2/overlay/merged" && shift 3 && exec "$@"';

/**
 * Linux system call numbers the Perl launcher needs (unshare, mount, prlimit64), per
 * `uname -m`. Architectures not listed use the shell launcher.
 */
export const LINUX_SYSCALLS: Readonly<Record<string, readonly [number, number, number]>> = {
  x86_64: [272, 165, 302],
  aarch64: [97, 40, 261],
  riscv64: [97, 40, 261],
};

/** RLIMIT_ numbers (the same on every architecture of {@link LINUX_SYSCALLS}). */
const RLIMIT = { as: 9, nproc: 6, fsize: 1 } as const;

/**
 * The Perl launcher: what `unshare … sh -c MOUNT_OVERLAY` (plus `mount` and `prlimit`)
 * does, in one program start instead of three or four: join the cgroups, make the user
 * and mount namespaces (root inside mapped to the caller, as `unshare --map-root-user`),
 * make every mount private, mount the overlay, set the rlimits inside the namespace,
 * exec the rest. Arguments: syscall numbers `unshare,mount,prlimit64`, lower, workspace,
 * cgroup directories (one a line), rlimits `resource=value,…`, then the command.
 * Perl is on every Debian and Ubuntu system (perl-base is essential).
 */
const PERL_LAUNCHER = `my ($nr, $lower, $ws, $cg, $lim) = splice(@ARGV, 0, 5);
my ($unshare, $mount, $prlimit) = map { $_ + 0 } split(/,/, $nr);
sub fail { print STDERR "buildfleet-isolation: $_[0]: $!\n"; exit 126 }
sub put { open(my $f, '>', $_[0]) or fail($_[0]); print $f $_[1]; close($f) or fail($_[0]) }
put("$_/cgroup.procs", $$) for grep { $_ ne '' } split(/\n/, $cg);
my ($uid, $gid) = ($< + 0, $( + 0);
syscall($unshare, 0x10000000 | 0x20000) == 0 or fail('unshare');
put('/proc/self/setgroups', 'deny');
put('/proc/self/uid_map', "0 $uid 1");
put('/proc/self/gid_map', "0 $gid 1");
my ($none, $slash, $overlay) = ('none', '/', 'overlay');
syscall($mount, $none, $slash, 0, 0x4000 | 0x40000, 0) == 0 or fail('mount --make-rprivate /');
my ($merged, $options) = ("$ws/overlay/merged", "lowerdir=$lower,upperdir=$ws/overlay/upper,workdir=$ws/overlay/work");
syscall($mount, $overlay, $merged, $overlay, 0, $options) == 0 or fail("mount overlay on $merged");
for (grep { $_ ne '' } split(/,/, $lim)) {
  my ($resource, $value) = map { $_ + 0 } split(/=/);
  my $limit = pack('QQ', $value, $value);
  syscall($prlimit, 0, $resource, $limit, 0) == 0 or fail("setrlimit $resource");
}
exec { $ARGV[0] } @ARGV or fail($ARGV[0]);`;

/** What the steps of one build share for their command lines (StepCommandInput without the step's own fields). */
export interface BuildStepContext {
  readonly isolation: IsolationMode;
  readonly workspace: string;
  readonly root: string | undefined;
  readonly limits: BuildLimits;
  readonly host: IsolationSupport | undefined;
  readonly cgroups: BuildCgroups | undefined;
}

/** stepCommand for one step of a build: the same on a local host and over SSH. */
export function buildStepCommand(step: { readonly run: string; readonly network: boolean }, build: BuildStepContext): StepCommandResult {
  return stepCommand({
    run: step.run,
    network: step.network,
    isolation: build.isolation,
    workspace: build.workspace,
    limits: build.limits,
    ...(build.root !== undefined ? { root: build.root } : {}),
    ...(build.host !== undefined ? { host: build.host } : {}),
    ...(build.cgroups !== undefined ? { cgroups: build.cgroups } : {}),
  });
}

/** Characters the overlay mount options cannot carry in a path. */
const OVERLAY_UNSAFE = /[,:\\\n]/;

export function stepCommand(input: StepCommandInput): StepCommandResult {
  const ws = input.workspace;
  if (input.isolation === 'none') {
    return {
      ok: true,
      command: {
        argv: ['sh', '-c', input.run],
        cwd: `${ws}/build`,
        env: { TMPDIR: `${ws}/tmp`, BUILDFLEET_OUT: `${ws}/out`, BUILDFLEET_DEPS: `${ws}/deps`, ...(input.root !== undefined ? { BUILDFLEET_ROOT: input.root } : {}) },
      },
    };
  }
  if (input.root === undefined) return { ok: false, message: 'isolation: overlay needs the branch\'s prerequisite root, and this build has none' };
  for (const [what, p] of [['root', input.root], ['workspace', ws]] as const) {
    if (OVERLAY_UNSAFE.test(p)) return { ok: false, message: `the ${what} path ${JSON.stringify(p)} holds a character an overlay mount cannot take (, : \\ or a newline); move the state or work directory` };
  }
  const cgroupDirs = input.cgroups?.dirs ?? [];
  for (const d of cgroupDirs) {
    if (/[\s]/.test(d)) return { ok: false, message: `the cgroup path ${JSON.stringify(d)} holds white space; run buildfleet in a cgroup whose path has none` };
  }
  const rlimits = rlimitsOutsideCgroups(input.limits, input.cgroups?.controllers ?? []);
  const syscalls = input.host?.overlay === true && input.host.launcher === 'perl' ? LINUX_SYSCALLS[input.host.arch] : undefined;
  const launcher =
    syscalls !== undefined
      ? ['perl', '-e', PERL_LAUNCHER, '--', syscalls.join(','), input.root, ws, cgroupDirs.join('\n'), rlimits.map(([r, v]) => `${RLIMIT[r]}=${v}`).join(',')]
      : [
          'unshare', '--user', '--map-root-user', '--mount', '--',
          'sh', '-c', MOUNT_OVERLAY, 'buildfleet-isolation', input.root, ws, cgroupDirs.join('\n'),
          ...(rlimits.length > 0 ? ['prlimit', ...rlimits.map(([r, v]) => `--${r}=${v}`), '--'] : []),
        ];
  const argv = [
    ...launcher,
    'bwrap',
    '--bind', `${ws}/overlay/merged`, '/',
    '--bind', `${ws}/build`, ISOLATED_PATHS.build,
    '--ro-bind', `${ws}/deps`, ISOLATED_PATHS.deps,
    '--bind', `${ws}/out`, ISOLATED_PATHS.out,
    '--bind', `${ws}/tmp`, ISOLATED_PATHS.tmp,
    '--proc', '/proc',
    '--dev', '/dev',
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', 'buildfleet',
    ...(input.network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--chdir', ISOLATED_PATHS.build,
    '--', '/bin/sh', '-c', input.run,
  ];
  return {
    ok: true,
    command: {
      argv,
      cwd: `${ws}/build`,
      env: { TMPDIR: ISOLATED_PATHS.tmp, HOME: ISOLATED_PATHS.tmp, BUILDFLEET_OUT: ISOLATED_PATHS.out, BUILDFLEET_DEPS: ISOLATED_PATHS.deps, BUILDFLEET_ROOT: ISOLATED_PATHS.root },
    },
  };
}

/** The limits left to rlimits: those the build's cgroups do not hold, and the output size. */
function rlimitsOutsideCgroups(limits: BuildLimits, inCgroups: readonly CgroupController[]): [keyof typeof RLIMIT, number][] {
  return [
    ...(limits.memoryBytes !== undefined && !inCgroups.includes('memory') ? [['as', limits.memoryBytes] as [keyof typeof RLIMIT, number]] : []),
    ...(limits.processes !== undefined && !inCgroups.includes('pids') ? [['nproc', limits.processes] as [keyof typeof RLIMIT, number]] : []),
    ...(limits.outputBytes !== undefined ? [['fsize', limits.outputBytes] as [keyof typeof RLIMIT, number]] : []),
  ];
}

/** SIGXFSZ: a process wrote past RLIMIT_FSIZE. A shell reports it as status 128 + 25. */
const SIGXFSZ_STATUS = 153;

/**
 * When a failed step of a limited build shows the mark of a limit, the limit in
 * words (`out of memory: limit 256M (limits.memory)`). Limits held by the build's
 * cgroups are named from the kernel's counts (`hits`: an OOM kill, a refused fork).
 * rlimits do not count their hits, so for those this reads the signs: SIGXFSZ or its
 * status for output; the messages programs print when an allocation or a fork fails
 * (ENOMEM, EAGAIN) for memory and processes. Undefined when no limit explains the failure.
 */
export function limitExceeded(
  limits: BuildLimits,
  outcome: StepOutcome,
  tail: readonly string[],
  cgroups?: { readonly controllers: readonly CgroupController[]; readonly hits: CgroupHits },
): string | undefined {
  const text = tail.join('\n');
  const memory = limits.memoryBytes !== undefined ? `out of memory: limit ${formatSize(limits.memoryBytes)} (limits.memory)` : undefined;
  const processes = limits.processes !== undefined ? `too many processes: limit ${limits.processes} (limits.processes)` : undefined;
  if (cgroups?.hits.memory === true && memory !== undefined) return memory;
  if (cgroups?.hits.processes === true && processes !== undefined) return processes;
  if (limits.outputBytes !== undefined) {
    const signalled = (outcome.kind === 'killed-by-signal' && outcome.signal === 'SIGXFSZ') || (outcome.kind === 'exit-non-zero' && outcome.exitCode === SIGXFSZ_STATUS);
    if (signalled || /File size limit exceeded|File too large/i.test(text)) return `output too large: limit ${formatSize(limits.outputBytes)} (limits.output)`;
  }
  if (outcome.kind !== 'exit-non-zero' && outcome.kind !== 'killed-by-signal') return undefined;
  // A limit held by a cgroup was not hit unless the kernel counted it.
  const byRlimit = (c: CgroupController): boolean => cgroups?.controllers.includes(c) !== true;
  if (memory !== undefined && byRlimit('memory') && /out of memory|cannot allocate memory|memory exhausted|bad_alloc|MemoryError/i.test(text)) return memory;
  if (processes !== undefined && byRlimit('pids') && /can'?t fork|cannot fork|fork failed|resource temporarily unavailable/i.test(text)) return processes;
  return undefined;
}

/**
 * When a failed step's last lines show that a write found its disk full (ENOSPC:
 * "No space left on device", as coreutils, busybox, compilers and tar print it), the
 * reason in words; undefined otherwise. Read from the output, with or without
 * isolation: the kernel keeps no count of it.
 */
export function diskFull(outcome: StepOutcome, tail: readonly string[]): string | undefined {
  if (outcome.kind !== 'exit-non-zero' && outcome.kind !== 'killed-by-signal') return undefined;
  return tail.some((line) => /No space left on device|\bENOSPC\b/.test(line)) ? 'disk full ("No space left on device" in the build\'s output)' : undefined;
}

/** How a host holds a limit: in the build's cgroup (counted over the whole build), as an rlimit (per process), or not at all. */
export type LimitEnforcement = 'cgroup' | 'rlimit' | 'unsupported';

/** Whether a host can run overlay-isolated builds, and if not why. */
export type IsolationSupport =
  | {
      readonly overlay: true;
      /** The user builds run as on the host (`root` or `uid N`). */
      readonly user: string;
      /** The program that makes the namespaces: `perl` (one start) or `shell` (unshare, sh, mount). */
      readonly launcher: 'perl' | 'shell';
      /** `uname -m` of the host. */
      readonly arch: string;
      /** Controllers the build user can make cgroups with there (buildCgroups.ts). */
      readonly cgroups: readonly CgroupController[];
      /** How `limits.memory` and `limits.processes` are held there (`limits.output` is always an rlimit). */
      readonly limits: { readonly memory: LimitEnforcement; readonly processes: LimitEnforcement };
    }
  | { readonly overlay: false; readonly reason: string };

/**
 * The probe, one shell command: the tools, then the chain of a real step (user and
 * mount namespace, an overlay mount written through, bubblewrap with new PID and
 * network namespaces) over scratch directories, removed afterwards, with the Perl
 * launcher where the host has perl and a known architecture, else (or when that fails)
 * with the shell launcher; then the cgroups the user can make. $1: directory to make
 * the scratch directories in (the host's workdir when it exists, else $TMPDIR or /tmp),
 * $2 the syscall table (`arch=n,n,n …`), $3 the Perl launcher, $4 the shell launcher.
 */
const PROBE_SCRIPT = `
command -v bwrap >/dev/null 2>&1 || { echo "missing bwrap"; exit 0; }
uid=$(id -u) arch=$(uname -m) table=$2 perl_launcher=$3 shell_launcher=$4
echo "uid $uid"
nrs=
for e in $table; do case $e in "$arch="*) nrs=\${e#*=} ;; esac; done
launchers=shell
[ -n "$nrs" ] && command -v perl >/dev/null 2>&1 && launchers="perl shell"
parent=$1; [ -d "$parent" ] && [ -w "$parent" ] || parent=\${TMPDIR:-/tmp}
d=$(mktemp -d "$parent/buildfleet-probe.XXXXXX") || { echo "fail cannot make a directory in $parent"; exit 0; }
mkdir -p "$d/lower" "$d/overlay/upper" "$d/overlay/work" "$d/overlay/merged"
found= out=
for launcher in $launchers; do
  if [ "$launcher" = perl ]; then
    set -- perl -e "$perl_launcher" -- "$nrs" "$d/lower" "$d" "" ""
  else
    for tool in unshare mount prlimit; do
      command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool"; break 2; }
    done
    set -- unshare --user --map-root-user --mount -- sh -c "$shell_launcher" probe "$d/lower" "$d" ""
  fi
  rm -f "$d/overlay/upper/written"
  if out=$("$@" sh -c 'touch "$1/written" && exec bwrap --ro-bind / / --proc /proc --dev /dev --unshare-pid --unshare-net --die-with-parent true' probe "$d/overlay/merged" 2>&1) && [ -e "$d/overlay/upper/written" ] && [ ! -e "$d/lower/written" ]; then
    found=$launcher; break
  fi
done
if [ -n "$found" ]; then echo "ok $found $arch"; elif [ -n "$out" ]; then echo "fail $(printf '%s' "$out" | tr '\\n' ' ' | cut -c1-300)"; fi
chmod -R u+rwx "$d" 2>/dev/null; rm -rf "$d"
${CGROUP_PROBE}
exit 0
`;

/** Checks a host, through its shell, for what overlay isolation needs. */
export async function probeIsolation(shell: HostShell, workdir: string, options: { readonly timeoutSeconds?: number } = {}): Promise<IsolationSupport> {
  const table = Object.entries(LINUX_SYSCALLS).map(([arch, nrs]) => `${arch}=${nrs.join(',')}`).join(' ');
  let result;
  try {
    result = await shell.exec(['sh', '-c', PROBE_SCRIPT, 'buildfleet-probe', workdir, table, PERL_LAUNCHER, MOUNT_OVERLAY], { timeoutSeconds: options.timeoutSeconds ?? 30 });
  } catch (error) {
    return { overlay: false, reason: `the probe could not run: ${(error as Error).message}` };
  }
  return parseProbe(result.code, result.stdout, result.stderr);
}

/** Reads the probe's output. */
export function parseProbe(code: number, stdout: string, stderr: string): IsolationSupport {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const ok = lines.find((l) => l.startsWith('ok '))?.split(' ');
  const missing = lines.find((l) => l.startsWith('missing '));
  if (ok === undefined && missing !== undefined) {
    const tool = missing.slice('missing '.length);
    const from = tool === 'bwrap' ? 'bubblewrap' : 'util-linux';
    return { overlay: false, reason: `${tool} not found (install ${from}; overlay isolation is Linux only)` };
  }
  const uid = lines.find((l) => l.startsWith('uid '))?.slice(4);
  const fail = lines.find((l) => l.startsWith('fail'));
  if (ok === undefined && fail !== undefined) return { overlay: false, reason: `the overlay test failed: ${fail.slice(5).trim() || 'no message'}` };
  if (ok === undefined || uid === undefined) {
    return { overlay: false, reason: `the probe failed (status ${code}): ${(stderr.trim() || stdout.trim()).split('\n')[0] ?? ''}`.trim() };
  }
  const cgroups = (['memory', 'pids'] as const).filter((c) => lines.some((l) => l.startsWith(`cgroup ${c} `)));
  const rlimit = (controller: CgroupController, rlimitHolds: boolean): LimitEnforcement => (cgroups.includes(controller) ? 'cgroup' : rlimitHolds ? 'rlimit' : 'unsupported');
  return {
    overlay: true,
    user: uid === '0' ? 'root' : `uid ${uid}`,
    launcher: ok[1] === 'perl' ? 'perl' : 'shell',
    arch: ok[2] ?? 'unknown',
    cgroups,
    // The kernel exempts root from RLIMIT_NPROC.
    limits: { memory: rlimit('memory', true), processes: rlimit('pids', uid !== '0') },
  };
}

/** One line for `hosts` and plans: `overlay (as uid 1000; memory: rlimit, processes: rlimit)`, `no: bwrap not found (…)`. */
export function describeIsolationSupport(support: IsolationSupport): string {
  if (!support.overlay) return `no: ${support.reason}`;
  const { memory, processes } = support.limits;
  const processText = processes === 'unsupported' ? 'processes: not enforced (root without a pids cgroup)' : `processes: ${processes}`;
  return `overlay (as ${support.user}; limits memory: ${memory}, ${processText})`;
}
