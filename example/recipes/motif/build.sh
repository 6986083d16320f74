#!/bin/sh
# Build motif: a dud in branches/example.yaml ("needs Motif licence"), so buildfleet never runs this; it would build if the dud were removed.
#
# The pipeline's `build` step (pipelines/shell.yaml): its `unpack` step has put
# the dependencies into deps-root/, and its `package` step packs stage/ into the
# artifact. This script only builds what is particular to motif.
set -eu
umask 022
LC_ALL=C
export LC_ALL
stage=$PWD/stage      # what the package installs
root=$PWD/deps-root   # the dependencies, unpacked
echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION: building in $PWD"

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
