#!/bin/sh
# Build zlib: needs libc's header; compresses real sample data with gzip.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

if [ ! -f "$root/usr/include/libc.h" ]; then
  echo "zlib: libc does not provide usr/include/libc.h" >&2
  exit 1
fi
mkdir -p "$stage/usr/include" "$stage/usr/lib"
{
  echo '#include <libc.h>'
  echo '/* zlib of the buildfleet example */'
} >"$stage/usr/include/zlib.h"
seq 1 2000 >sample.txt
gzip -n -9 -c sample.txt >"$stage/usr/lib/sample.gz"
gzip -t "$stage/usr/lib/sample.gz"
sleep 0.6
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'Compression for the example: usr/include/zlib.h and a gzip sample in usr/lib.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
