/**
 * The POSIX sh programs a build runs on an SSH host, each started as
 * `sh -c SCRIPT NAME ARG…` so that every value arrives as an argument, never as
 * shell text. The host needs sh, tar, sha256sum, setsid and the usual utilities.
 * A process group is signalled as `kill -SIG "-$pgid"`: dash's kill refuses `--`.
 */
import { shellCommand } from './connections.js';

/** The command line that runs `script` with `args` as $1, $2, … on the host. */
export function scriptCommand(name: string, script: string, args: readonly string[]): string {
  return shellCommand(['sh', '-c', script, name, ...args]);
}

/**
 * $1 workspace, $2 its owner line (`<owner> <run id>`, see {@link CLEAN_STALE}), then its
 * directories (see `workspaceDirs` in isolation.ts): make it, mark it, and unpack the
 * tar stream on stdin into it.
 */
export const PREPARE = `set -e
mkdir -p "$1"
cd "$1"
printf '%s\\n' "$2" > .buildfleet-owner
shift 2
tar -xf -
mkdir -p build "$@"`;

/**
 * $1 the host's workdir, $2 the owner (one state directory of one controller), $3 the
 * current run id. Workspaces under $1/work/<branch>/ that this owner made in another
 * run, and that were not kept on purpose (.buildfleet-kept), are left by a run that
 * died: every process still working in one (current directory inside it, or
 * BUILDFLEET_OUT pointing into it; Linux /proc) is killed with its process group,
 * then the workspace is removed. Prints `killed PID` and `removed WORKSPACE` lines.
 * Workspaces of other owners (another controller sharing the workdir) are left alone.
 */
export const CLEAN_STALE = `wd=$1 owner=$2 run=$3
self=$(sed 's/.*) //' /proc/$$/stat 2>/dev/null | cut -d' ' -f3)
for ws in "$wd"/work/*/*; do
  [ -d "$ws" ] || continue
  [ -e "$ws/.buildfleet-kept" ] && continue
  read -r o r < "$ws/.buildfleet-owner" 2>/dev/null || continue
  [ "$o" = "$owner" ] && [ "$r" != "$run" ] || continue
  if [ -d /proc/self ]; then
    for p in /proc/[0-9]*; do
      pid=\${p#/proc/}
      [ "$pid" = "$$" ] && continue
      hit=
      case "$(readlink "$p/cwd" 2>/dev/null)" in "$ws"|"$ws"/*) hit=1 ;; esac
      if [ -z "$hit" ] && tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qxF "BUILDFLEET_OUT=$ws/out"; then hit=1; fi
      [ -n "$hit" ] || continue
      pg=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f3)
      if [ -n "$pg" ] && [ "$pg" != 0 ] && [ "$pg" != "$self" ]; then kill -KILL "-$pg" 2>/dev/null; fi
      kill -KILL "$pid" 2>/dev/null && echo "killed $pid"
    done
  fi
  rm -rf -- "$ws" 2>/dev/null || { sleep 1; rm -rf -- "$ws"; } && echo "removed $ws"
done
exit 0`;

/**
 * `kill_tagged TAG GRACE`: the processes of this user (Linux /proc) whose environment
 * holds the line TAG (`BUILDFLEET_BUILD_ID=…`, see runStep.ts) get SIGTERM, then SIGKILL
 * when still there after GRACE seconds; prints one warning line naming them. Daemons a
 * build started out of its process group (`setsid`, double forks) are found this way;
 * one that cleared its environment is not. Needs a grep with -z (GNU, busybox).
 */
const KILL_TAGGED = `tagged() {
  for f in $(grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=\${f%/environ}
    [ "\${p#/proc/}" != "$$" ] && [ -O "$p" ] && printf '%s\\n' "\${p#/proc/}"
  done
}
kill_tagged() {
  pids=$(tagged "$1")
  [ -n "$pids" ] || return 0
  list= n=0
  for pid in $pids; do
    cmd=$(tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
    list="$list\${list:+, }$pid (\${cmd% })" n=$((n + 1))
  done
  kill -TERM $pids 2>/dev/null
  i=0 g=\${2%.*}
  while [ "$i" -lt $((\${g:-0} * 10)) ] && [ -n "$(tagged "$1")" ]; do sleep 0.1; i=$((i + 1)); done
  r=0
  while [ "$r" -lt 10 ] && left=$(tagged "$1") && [ -n "$left" ]; do kill -KILL $left 2>/dev/null; sleep 0.05; r=$((r + 1)); done
  s=es; [ "$n" = 1 ] && s=
  echo "buildfleet: warning: step $3 left $n process$s running outside its process group; killed: $list"
}`;

/**
 * $1 workspace, $2 the step's command, $3 grace seconds, $4 the step's name, then
 * NAME=value pairs of the build's environment. The step runs in a session of its own
 * (setsid): its process group is killed when stdin reaches its end before the step does
 * (the client stopped it, or the connection dropped): SIGTERM, then SIGKILL after the
 * grace period; at once when the line `kill` arrives. Whatever the step leaves running
 * in its group is killed when it exits, and so are the build's processes that left the
 * group (tagged with BUILDFLEET_BUILD_ID, see {@link KILL_TAGGED}; a warning on stderr
 * names them). Exit status: the step's (128+n when killed by signal n).
 */
export const STEP = `${KILL_TAGGED}
ws=$1 run=$2 grace=$3 step=$4
shift 4
tag=
for kv in "$@"; do case $kv in BUILDFLEET_BUILD_ID=*) tag=$kv ;; esac; done
cd "$ws/build" || exit 125
exec 3<&0
setsid env -i PATH="$PATH" HOME="$HOME" USER="$USER" LOGNAME="$LOGNAME" SHELL="$SHELL" "$@" sh -c "$run" </dev/null 3<&- &
pid=$!
setsid sh -c 'while IFS= read -r line; do
  if [ "$line" = kill ]; then kill -KILL "-$1" 2>/dev/null; exit 0; fi
done
kill -TERM "-$1" 2>/dev/null || exit 0
sleep "$2"
kill -KILL "-$1" 2>/dev/null' watchdog "$pid" "$grace" <&3 3<&- >/dev/null 2>&1 &
watch=$!
exec 3<&-
wait "$pid"
rc=$?
kill -KILL "-$pid" 2>/dev/null
[ -z "$tag" ] || kill_tagged "$tag" "$grace" "$step" >&2
kill -KILL "-$watch" 2>/dev/null
exit "$rc"`;

/** $1 workspace: every regular file under build/, NUL-separated (to match the pipeline's artifact globs). */
export const LIST_BUILD_FILES = `cd "$1/build" && find . -type f -print0`;

/**
 * $1 workspace, $2 `remove` to delete the workspace afterwards, then paths (relative to
 * the workspace) of artifacts found by globs. Adds the regular files of out/, writes
 * their sha256 to .buildfleet-sha256 and sends a tar of that list and the files on
 * stdout. Exit 3: no artifact at all.
 */
export const COLLECT = `ws=$1 remove=$2
shift 2
cd "$ws" || exit 125
for f in out/* out/.[!.]* out/..?*; do
  if [ -f "$f" ] && [ ! -h "$f" ]; then set -- "$@" "$f"; fi
done
if [ "$#" -eq 0 ]; then rc=3; else
  sha256sum -- "$@" > .buildfleet-sha256 && tar -cf - .buildfleet-sha256 "$@"
  rc=$?
fi
if [ "$remove" = remove ]; then cd / && rm -rf -- "$ws"; fi
exit "$rc"`;

/** $1 workspace: remove it. */
export const REMOVE = `rm -rf -- "$1"`;

/** $1 workspace, $2 text: keep the workspace with a marker file saying why. */
export const KEEP = `printf '%s\\n' "$2" > "$1/.buildfleet-kept"`;
