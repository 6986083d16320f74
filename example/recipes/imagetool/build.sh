#!/bin/sh
# Build imagetool: needs libpng's header; installs a PPM generator and tests it.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

if [ ! -f "$root/usr/include/png.h" ]; then
  echo "imagetool: libpng does not provide usr/include/png.h" >&2
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
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'usr/bin/imagetool prints a gradient image (plain PPM); see sample.ppm.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
