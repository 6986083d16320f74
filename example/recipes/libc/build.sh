#!/bin/sh
# Build the example's base library: a header and a version file, no dependencies.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

mkdir -p "$stage/usr/include" "$stage/usr/lib"
cat >"$stage/usr/include/libc.h" <<'H'
/* libc of the buildfleet example: the base every other package builds on. */
#define EXAMPLE_LIBC 1
H
printf 'EXAMPLE_LIBC_VERSION=%s\n' "$BUILDFLEET_VERSION" >"$stage/usr/lib/libc.version"
sleep 1
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'The base of the example: usr/include/libc.h and usr/lib/libc.version.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
