#!/bin/sh
# Build the example's base library: a header and a version file, no dependencies.
#
# The pipeline's `build` step (pipelines/shell.yaml): its `unpack` step has put
# the dependencies into deps-root/, and its `package` step packs stage/ into the
# artifact. This script only builds what is particular to libc.
set -eu
umask 022
LC_ALL=C
export LC_ALL
stage=$PWD/stage      # what the package installs
root=$PWD/deps-root   # the dependencies, unpacked
echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION: building in $PWD"

mkdir -p "$stage/usr/include" "$stage/usr/lib"
cat >"$stage/usr/include/libc.h" <<'H'
/* libc of the buildfleet example: the base every other package builds on. */
#define EXAMPLE_LIBC 1
H
printf 'EXAMPLE_LIBC_VERSION=%s\n' "$BUILDFLEET_VERSION" >"$stage/usr/lib/libc.version"
sleep 1
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'The base of the example: usr/include/libc.h and usr/lib/libc.version.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
