/**
 * Build cgroups: the memory and process limits of an isolated build counted over all
 * of its processes together, where the host lets the build user make cgroups. One
 * cgroup per build (per controller on cgroup v1), made below the cgroup of the shell
 * that makes it before the first step, joined by the step's launcher (isolation.ts)
 * before it makes its namespaces, read and removed after the last step. The kernel
 * counts the hits (`oom_kill`, `pids.events max`), so a build over a limit is named
 * exactly, and root is held to `pids.max` as to any other limit (RLIMIT_NPROC exempts
 * root).
 *
 * Everything runs as POSIX sh on the host through its {@link HostShell}, the same
 * scripts for local and SSH hosts: the probe ({@link CGROUP_PROBE}), the making
 * ({@link makeBuildCgroups}) and the removal ({@link removeBuildCgroups}). Where a
 * host has no usable cgroups, the limits fall back to rlimits (isolation.ts).
 */
import type { BuildLimits } from '../config/types.js';
import type { HostShell } from './transport.js';

/** The cgroup controllers buildfleet uses: `memory` for limits.memory, `pids` for limits.processes. */
export type CgroupController = 'memory' | 'pids';

/**
 * `cg_parent CONTROLLER` sets `cg_dir` to the directory of this shell's own cgroup in the
 * hierarchy holding the controller, when a build cgroup with it can be made there, and
 * `cg_version` to 1 or 2; status 1 otherwise. cgroup v2 (unified at /sys/fs/cgroup): the
 * controller must be enabled in the own cgroup's `cgroup.subtree_control` already (a
 * container's root cgroup, a delegated subtree); nothing is enabled here. cgroup v1: the
 * controller's hierarchy at /sys/fs/cgroup/<controller>, the own cgroup there writable.
 * Builtins only: no program is started.
 */
const CG_PARENT = `cg_parent() {
  cg_dir= cg_version=
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    own=
    while IFS=: read -r n c p; do [ "$n" = 0 ] && own=$p; done < /proc/self/cgroup
    d=/sys/fs/cgroup\${own%/}
    ctl=
    [ -r "$d/cgroup.subtree_control" ] && read -r ctl < "$d/cgroup.subtree_control"
    case " $ctl " in *" $1 "*) ;; *) return 1 ;; esac
    cg_version=2
  else
    own=
    while IFS=: read -r n c p; do case ",$c," in *",$1,"*) own=$p ;; esac; done < /proc/self/cgroup
    [ -n "$own" ] || return 1
    d=/sys/fs/cgroup/$1\${own%/}
    cg_version=1
  fi
  [ -d "$d" ] && [ -w "$d" ] && [ -w "$d/cgroup.procs" ] || return 1
  cg_dir=$d
}`;

/**
 * The probe's part: for each controller, `cgroup <controller> v<version>` when a child
 * cgroup can be made (and is: it is made and removed again), nothing otherwise.
 */
export const CGROUP_PROBE = `${CG_PARENT}
for ctl in memory pids; do
  if cg_parent "$ctl"; then
    t=$cg_dir/buildfleet-probe-$$
    if mkdir "$t" 2>/dev/null; then rmdir "$t" && echo "cgroup $ctl v$cg_version"; fi
  fi
done`;

/**
 * $1 the cgroup's name, then `controller=value` pairs. Makes one cgroup per controller
 * (one for both on v2) below the shell's own, writes the limit, and prints
 * `<controller> <dir>` per controller. Exit 1 with a message when one cannot be made.
 */
const MAKE = `${CG_PARENT}
name=$1; shift
for kv in "$@"; do
  ctl=\${kv%%=*} v=\${kv#*=}
  cg_parent "$ctl" || { echo "no writable $ctl cgroup on this host" >&2; exit 1; }
  d=$cg_dir/$name
  [ -d "$d" ] || mkdir "$d" || exit 1
  case "$cg_version $ctl" in
    "1 memory") echo "$v" > "$d/memory.limit_in_bytes" || exit 1
      [ -f "$d/memory.memsw.limit_in_bytes" ] && { echo "$v" > "$d/memory.memsw.limit_in_bytes" || exit 1; } ;;
    "2 memory") echo "$v" > "$d/memory.max" || exit 1
      [ -f "$d/memory.swap.max" ] && { echo 0 > "$d/memory.swap.max" || exit 1; } ;;
    *) echo "$v" > "$d/pids.max" || exit 1 ;;
  esac
  echo "$ctl $d"
done`;

/**
 * Then directories: prints `memory <oom kills>` and `pids <forks refused>` for each, then
 * kills what is still in it (a daemon the build left running, even one that left its
 * process group and cleared its environment: `killed <pid>` each) and removes it
 * (waiting up to 5 s for the last processes to leave it).
 */
const REMOVE = `for d in "$@"; do
  for f in memory.oom_control memory.events pids.events; do
    [ -f "$d/$f" ] || continue
    while read -r k v; do
      case "$f $k" in "memory.oom_control oom_kill" | "memory.events oom_kill") echo "memory $v" ;; "pids.events max") echo "pids $v" ;; esac
    done < "$d/$f"
  done
  i=0
  until { while read -r p; do kill -KILL "$p" 2>/dev/null && echo "killed $p"; done < "$d/cgroup.procs"; } 2>/dev/null; rmdir "$d" 2>/dev/null || [ ! -d "$d" ]; do
    i=$((i + 1)); [ "$i" -gt 50 ] && { echo "could not remove $d" >&2; exit 1; }
    sleep 0.1
  done
done`;

/** The cgroups of one build. */
export interface BuildCgroups {
  /** Directories the launcher joins (`cgroup.procs`), one per hierarchy. */
  readonly dirs: readonly string[];
  /** The limits they hold; the others stay rlimits. */
  readonly controllers: readonly CgroupController[];
}

/** Which of `limits` a host's cgroups hold (`available`: the controllers its probe found). */
export function cgroupControllersFor(limits: BuildLimits, available: readonly CgroupController[]): CgroupController[] {
  return [
    ...(limits.memoryBytes !== undefined && available.includes('memory') ? (['memory'] as const) : []),
    ...(limits.processes !== undefined && available.includes('pids') ? (['pids'] as const) : []),
  ];
}

/**
 * Makes the cgroups of a build named `name` (unique on the host: the workspace's name)
 * for `controllers`, with the limits of `limits`.
 */
export async function makeBuildCgroups(
  shell: HostShell,
  name: string,
  controllers: readonly CgroupController[],
  limits: BuildLimits,
): Promise<{ readonly ok: true; readonly cgroups: BuildCgroups } | { readonly ok: false; readonly message: string }> {
  const pairs = controllers.map((c) => `${c}=${c === 'memory' ? limits.memoryBytes : limits.processes}`);
  const result = await shell.exec(['sh', '-c', MAKE, 'buildfleet-cgroups', `buildfleet-${name}`, ...pairs], { timeoutSeconds: 30 });
  if (result.code !== 0) return { ok: false, message: `could not make the build's cgroups: ${result.stderr.trim() || `status ${result.code}`}` };
  const dirs = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) dirs.add(line.slice(space + 1));
  }
  return { ok: true, cgroups: { dirs: [...dirs], controllers } };
}

/** What the kernel counted in a build's cgroups: whether the memory limit killed a process, whether a fork was refused. */
export interface CgroupHits {
  readonly memory: boolean;
  readonly processes: boolean;
}

/** Reads the hits of a build's cgroups, kills what is left in them (`killed`: their pids) and removes them. */
export async function removeBuildCgroups(shell: HostShell, cgroups: BuildCgroups): Promise<{ readonly hits: CgroupHits; readonly killed: readonly number[]; readonly error?: string }> {
  const result = await shell.exec(['sh', '-c', REMOVE, 'buildfleet-cgroups', ...cgroups.dirs], { timeoutSeconds: 30 });
  let memory = false;
  let processes = false;
  const killed = new Set<number>();
  for (const line of result.stdout.split('\n')) {
    const [what, count] = line.split(' ');
    if (what === 'killed') {
      killed.add(Number(count));
      continue;
    }
    if (Number(count) > 0) {
      if (what === 'memory') memory = true;
      if (what === 'pids') processes = true;
    }
  }
  return { hits: { memory, processes }, killed: [...killed], ...(result.code !== 0 ? { error: result.stderr.trim() || `status ${result.code}` } : {}) };
}

/** Then names: removes the (empty) build cgroups `buildfleet-<name>` below this shell's own cgroups, where they exist. */
const REMOVE_STALE = `${CG_PARENT}
for ctl in memory pids; do
  cg_parent "$ctl" || continue
  for name in "$@"; do [ ! -d "$cg_dir/buildfleet-$name" ] || rmdir "$cg_dir/buildfleet-$name" 2>/dev/null || true; done
done`;

/**
 * Removes the cgroups of builds whose workspaces (`names`) a run that died left behind
 * (their processes died with it: `--die-with-parent`), as their workspaces are removed.
 */
export async function removeStaleBuildCgroups(shell: HostShell, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await shell.exec(['sh', '-c', REMOVE_STALE, 'buildfleet-cgroups', ...names], { timeoutSeconds: 30 });
}
