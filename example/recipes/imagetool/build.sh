#!/bin/sh
# Build imagetool: needs libpng's header; installs a PPM generator and tests it.
#
# Everything above the "--- imagetool ---" line is the same in every build.sh of
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

# --- imagetool ---
libpng=$(dep libpng)
unpack "$libpng"
if [ ! -f "$root/usr/include/png.h" ]; then
  echo "imagetool: ${libpng##*/} does not contain usr/include/png.h" >&2
  exit 1
fi
mkdir -p "$stage/usr/bin"
cat >"$stage/usr/bin/imagetool" <<'T'
#!/bin/sh
# imagetool [WIDTH [HEIGHT]]: print a colour gradient as a plain PPM (P3) image.
set -eu
w=${1:-16}
h=${2:-16}
case "$w:$h" in
  *[!0-9:]* | :* | *:) echo "usage: imagetool [WIDTH [HEIGHT]]" >&2; exit 2 ;;
esac
if [ "$w" -lt 1 ] || [ "$h" -lt 1 ]; then
  echo "imagetool: WIDTH and HEIGHT must be at least 1" >&2
  exit 2
fi
printf 'P3\n%s %s\n255\n' "$w" "$h"
y=0
while [ "$y" -lt "$h" ]; do
  x=0
  while [ "$x" -lt "$w" ]; do
    printf '%d %d %d\n' $((x * 255 / w)) $((y * 255 / h)) 128
    x=$((x + 1))
  done
  y=$((y + 1))
done
T
chmod 755 "$stage/usr/bin/imagetool"
# Test what was built: generate the sample image shipped with the package.
"$stage/usr/bin/imagetool" 8 8 >"$stage/usr/share/imagetool/sample.ppm"
if [ "$(head -n 1 "$stage/usr/share/imagetool/sample.ppm")" != P3 ] ||
  [ "$(wc -l <"$stage/usr/share/imagetool/sample.ppm")" -ne 67 ]; then
  echo "imagetool: self-test failed: sample.ppm is not an 8x8 plain PPM" >&2
  exit 1
fi
sleep 0.8
readme 'usr/bin/imagetool prints a gradient image (plain PPM); see sample.ppm.'
built_with "$libpng"
pack
