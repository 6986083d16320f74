#!/bin/sh
# Branch 3.0 of the example: Base library of branch 3.0.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

mkdir -p "$stage/usr/lib"
printf '%s %s built against: %s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" "$(ls "$root/usr/lib" 2>/dev/null | tr '\n' ' ')" >"$stage/usr/lib/$BUILDFLEET_PACKAGE.version"
sleep 1
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'Base library of branch 3.0 (branch 3.0 of the example).' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
