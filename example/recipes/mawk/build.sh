#!/bin/sh
# Build mawk: an awk stand-in; installs usr/bin/awk, which is how it provides awk.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

if [ ! -f "$root/usr/include/libc.h" ]; then
  echo "mawk: libc does not provide usr/include/libc.h" >&2
  exit 1
fi
case "$BUILDFLEET_VERSION" in
  *[!A-Za-z0-9._+~:-]*)
    echo "mawk: refusing to embed unexpected version text in usr/bin/mawk" >&2
    exit 1
    ;;
esac
mkdir -p "$stage/usr/bin"
{
  echo '#!/bin/sh'
  echo '# mawk of the buildfleet example: a stub that only knows -W version.'
  printf "version='%s'\\n" "$BUILDFLEET_VERSION"
  cat <<'T'
if [ "${1:-}" = -W ] && [ "${2:-}" = version ]; then
  echo "mawk $version (buildfleet example)"
  exit 0
fi
echo "mawk: this is the buildfleet example's stub; only 'mawk -W version' works" >&2
exit 2
T
} >"$stage/usr/bin/mawk"
chmod 755 "$stage/usr/bin/mawk"
ln -s mawk "$stage/usr/bin/awk"
echo awk >"$stage/usr/share/mawk/PROVIDES"
"$stage/usr/bin/awk" -W version
sleep 0.4
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'usr/bin/mawk, with usr/bin/awk pointing at it: the recipe provides "awk".' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
