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

/** Mounts the overlay ($1 lower, $2 workspace), then runs the rest of the arguments. */
const MOUNT_OVERLAY = 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/overlay/upper,workdir=$2/overlay/work" "$2/overlay/merged" && shift 2 && exec "$@"';

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
  const limits = rlimitArguments(input.limits);
  const argv = [
    'unshare', '--user', '--map-root-user', '--mount', '--',
    'sh', '-c', MOUNT_OVERLAY, 'buildfleet-isolation', input.root, ws,
    ...(limits.length > 0 ? ['prlimit', ...limits, '--'] : []),
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

function rlimitArguments(limits: BuildLimits): string[] {
  return [
    ...(limits.memoryBytes !== undefined ? [`--as=${limits.memoryBytes}`] : []),
    ...(limits.processes !== undefined ? [`--nproc=${limits.processes}`] : []),
    ...(limits.outputBytes !== undefined ? [`--fsize=${limits.outputBytes}`] : []),
  ];
}

/** SIGXFSZ: a process wrote past RLIMIT_FSIZE. A shell reports it as status 128 + 25. */
const SIGXFSZ_STATUS = 153;

/**
 * When a failed step of a limited build shows the mark of a limit, the limit in
 * words (`out of memory: limit 256M (limits.memory)`). rlimits do not count their
 * hits, so this reads the signs: SIGXFSZ or its status for output; the messages
 * programs print when an allocation or a fork fails (ENOMEM, EAGAIN) for memory and
 * processes. Undefined when no limit explains the failure.
 */
export function limitExceeded(limits: BuildLimits, outcome: StepOutcome, tail: readonly string[]): string | undefined {
  const text = tail.join('\n');
  if (limits.outputBytes !== undefined) {
    const signalled = (outcome.kind === 'killed-by-signal' && outcome.signal === 'SIGXFSZ') || (outcome.kind === 'exit-non-zero' && outcome.exitCode === SIGXFSZ_STATUS);
    if (signalled || /File size limit exceeded|File too large/i.test(text)) return `output too large: limit ${formatSize(limits.outputBytes)} (limits.output)`;
  }
  if (outcome.kind !== 'exit-non-zero' && outcome.kind !== 'killed-by-signal') return undefined;
  if (limits.memoryBytes !== undefined && /out of memory|cannot allocate memory|memory exhausted|bad_alloc|MemoryError/i.test(text)) {
    return `out of memory: limit ${formatSize(limits.memoryBytes)} (limits.memory)`;
  }
  if (limits.processes !== undefined && /can'?t fork|cannot fork|fork failed|resource temporarily unavailable/i.test(text)) {
    return `too many processes: limit ${limits.processes} (limits.processes)`;
  }
  return undefined;
}

/** Whether a host can run overlay-isolated builds, and if not why. */
export type IsolationSupport =
  | {
      readonly overlay: true;
      /** The user builds run as on the host (`root` or `uid N`). */
      readonly user: string;
      /** Whether `limits.processes` binds there: the kernel exempts root from RLIMIT_NPROC. */
      readonly processLimit: boolean;
    }
  | { readonly overlay: false; readonly reason: string };

/**
 * The probe, one shell command: the tools, then the chain of a real step (user and
 * mount namespace, an overlay mount written through, bubblewrap with new PID and
 * network namespaces) over scratch directories, removed afterwards. $1: directory to
 * make them in (the host's workdir when it exists, else $TMPDIR or /tmp).
 */
const PROBE_SCRIPT = `
for tool in unshare mount bwrap prlimit; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool"; exit 0; }
done
echo "uid $(id -u)"
parent=$1; [ -d "$parent" ] && [ -w "$parent" ] || parent=\${TMPDIR:-/tmp}
d=$(mktemp -d "$parent/buildfleet-probe.XXXXXX") || { echo "fail cannot make a directory in $parent"; exit 0; }
mkdir -p "$d/lower" "$d/overlay/upper" "$d/overlay/work" "$d/overlay/merged"
if out=$(unshare --user --map-root-user --mount -- sh -c '${MOUNT_OVERLAY}' probe "$d/lower" "$d" sh -c 'touch "$1/written" && exec bwrap --ro-bind / / --proc /proc --dev /dev --unshare-pid --unshare-net --die-with-parent true' probe "$d/overlay/merged" 2>&1) && [ -e "$d/overlay/upper/written" ] && [ ! -e "$d/lower/written" ]; then
  echo ok
else
  echo "fail $(printf '%s' "$out" | tr '\\n' ' ' | cut -c1-300)"
fi
chmod -R u+rwx "$d" 2>/dev/null; rm -rf "$d"
`;

/** Checks a host, through its shell, for what overlay isolation needs. */
export async function probeIsolation(shell: HostShell, workdir: string, options: { readonly timeoutSeconds?: number } = {}): Promise<IsolationSupport> {
  let result;
  try {
    result = await shell.exec(['sh', '-c', PROBE_SCRIPT, 'buildfleet-probe', workdir], { timeoutSeconds: options.timeoutSeconds ?? 30 });
  } catch (error) {
    return { overlay: false, reason: `the probe could not run: ${(error as Error).message}` };
  }
  return parseProbe(result.code, result.stdout, result.stderr);
}

/** Reads the probe's output. */
export function parseProbe(code: number, stdout: string, stderr: string): IsolationSupport {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const missing = lines.find((l) => l.startsWith('missing '));
  if (missing !== undefined) {
    const tool = missing.slice('missing '.length);
    const from = tool === 'bwrap' ? 'bubblewrap' : 'util-linux';
    return { overlay: false, reason: `${tool} not found (install ${from}; overlay isolation is Linux only)` };
  }
  const uid = lines.find((l) => l.startsWith('uid '))?.slice(4);
  const fail = lines.find((l) => l.startsWith('fail'));
  if (fail !== undefined) return { overlay: false, reason: `the overlay test failed: ${fail.slice(5).trim() || 'no message'}` };
  if (!lines.includes('ok') || uid === undefined) {
    return { overlay: false, reason: `the probe failed (status ${code}): ${(stderr.trim() || stdout.trim()).split('\n')[0] ?? ''}`.trim() };
  }
  return { overlay: true, user: uid === '0' ? 'root' : `uid ${uid}`, processLimit: uid !== '0' };
}

/** One line for `hosts` and plans: `overlay (uid 1000)`, `no: bwrap not found (…)`. */
export function describeIsolationSupport(support: IsolationSupport): string {
  if (!support.overlay) return `no: ${support.reason}`;
  return `overlay (as ${support.user}${support.processLimit ? '' : '; limits.processes not enforced for root'})`;
}
