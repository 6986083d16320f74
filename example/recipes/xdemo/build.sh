#!/bin/sh
# Build xdemo: needs motif, which is a dud, so buildfleet skips xdemo (dependency-skipped).
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

if [ ! -f "$root/usr/include/Xm/Xm.h" ]; then
  echo "xdemo: motif does not provide usr/include/Xm/Xm.h" >&2
  exit 1
fi
mkdir -p "$stage/usr/bin"
{
  echo '#!/bin/sh'
  echo 'echo "xdemo: a Motif demo (buildfleet example)"'
} >"$stage/usr/bin/xdemo"
chmod 755 "$stage/usr/bin/xdemo"
sleep 0.3
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'A Motif demo program; skipped while motif is a dud.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
