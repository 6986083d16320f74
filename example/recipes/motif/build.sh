#!/bin/sh
# Build motif: a dud in branches/example.yaml ("needs Motif licence"), so buildfleet never runs this; it would build if the dud were removed.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

if [ ! -f "$root/usr/include/libc.h" ]; then
  echo "motif: libc does not provide usr/include/libc.h" >&2
  exit 1
fi
mkdir -p "$stage/usr/include/Xm" "$stage/usr/lib"
{
  echo '#include <libc.h>'
  echo '/* Motif of the buildfleet example */'
} >"$stage/usr/include/Xm/Xm.h"
printf 'MOTIF_VERSION=%s\n' "$BUILDFLEET_VERSION" >"$stage/usr/lib/libXm.version"
sleep 0.7
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'The Motif toolkit (stand-in). Listed as a dud: it needs a licence.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
