#!/bin/sh
# Build libpng: needs zlib's header and checks zlib's compressed sample.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

for f in usr/include/zlib.h usr/lib/sample.gz; do
  if [ ! -f "$root/$f" ]; then
    echo "libpng: zlib does not provide $f" >&2
    exit 1
  fi
done
lines=$(gzip -dc "$root/usr/lib/sample.gz" | wc -l)
if [ "$lines" -ne 2000 ]; then
  echo "libpng: zlib's sample decompresses to $lines lines, expected 2000" >&2
  exit 1
fi
mkdir -p "$stage/usr/include" "$stage/usr/lib"
{
  echo '#include <zlib.h>'
  echo '/* libpng of the buildfleet example */'
} >"$stage/usr/include/png.h"
printf '\211PNG\r\n\032\n' >"$stage/usr/lib/png.signature"
sleep 0.5
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'PNG support for the example: usr/include/png.h and the PNG file signature.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
