#!/bin/sh
# Build the example's base library: a header and a version file, no dependencies.
#
# Everything above the "--- libc ---" line is the same in every build.sh of
# the example: a workspace holds only its own recipe directory, so nothing is shared.

set -eu
umask 022
LC_ALL=C
export LC_ALL

: "${BUILDFLEET_PACKAGE:?is not set; run this through buildfleet (see pipelines/shell.yaml)}"
: "${BUILDFLEET_VERSION:?is not set; run this through buildfleet}"
: "${BUILDFLEET_OUT:?is not set; run this through buildfleet}"
: "${BUILDFLEET_DEPS:?is not set; run this through buildfleet}"

# dep NAME: print the path of NAME's artifact (NAME-<version>.tar.gz) in
# $BUILDFLEET_DEPS, or fail saying what is there instead.
dep() {
  found=
  for f in "$BUILDFLEET_DEPS/$1"-[0-9]*.tar.gz; do
    [ -f "$f" ] || continue
    if [ -n "$found" ]; then
      echo "$BUILDFLEET_PACKAGE: more than one artifact of '$1' in $BUILDFLEET_DEPS" >&2
      exit 1
    fi
    found=$f
  done
  if [ -z "$found" ]; then
    echo "$BUILDFLEET_PACKAGE: dependency artifact $1-<version>.tar.gz is missing from BUILDFLEET_DEPS ($BUILDFLEET_DEPS), which holds:" >&2
    ls -l "$BUILDFLEET_DEPS" >&2 || true
    exit 1
  fi
  printf '%s\n' "$found"
}

# unpack FILE: extract a dependency artifact into the sysroot "$root".
unpack() {
  tar -xzf "$1" -C "$root"
}

# built_with FILE...: record which dependency artifacts this build used.
built_with() {
  for f in "$@"; do
    printf '%s sha256:%s\n' "${f##*/}" "$(sha256sum <"$f" | cut -d' ' -f1)"
  done >"$stage/usr/share/$BUILDFLEET_PACKAGE/BUILT-WITH"
}

# pack: write the staging tree as the build's single, reproducible artifact.
pack() {
  artifact="$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.tar.gz"
  rm -f pack.tar pack.tar.gz
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -C "$stage" -cf pack.tar usr
  gzip -n -9 pack.tar
  mkdir -p "$BUILDFLEET_OUT"
  mv pack.tar.gz "$BUILDFLEET_OUT/$artifact"
  echo "$BUILDFLEET_PACKAGE: wrote $artifact"
}

# readme TEXT: the package's README.
readme() {
  printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" "$1" \
    >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
}

stage=$PWD/stage      # what the package installs
root=$PWD/deps-root   # dependencies, unpacked
rm -rf "$stage" "$root"
mkdir -p "$stage/usr/share/$BUILDFLEET_PACKAGE" "$root"
echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION: building in $PWD"

# --- libc ---
mkdir -p "$stage/usr/include" "$stage/usr/lib"
cat >"$stage/usr/include/libc.h" <<'H'
/* libc of the buildfleet example: the base every other package builds on. */
#define EXAMPLE_LIBC 1
H
printf 'EXAMPLE_LIBC_VERSION=%s\n' "$BUILDFLEET_VERSION" >"$stage/usr/lib/libc.version"
sleep 1
readme 'The base of the example: usr/include/libc.h and usr/lib/libc.version.'
built_with
pack
