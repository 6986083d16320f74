#!/bin/sh
# Build docgen: a text-to-manual-page converter, used by other recipes at build time.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

if [ ! -f "$root/usr/include/libc.h" ]; then
  echo "docgen: libc does not provide usr/include/libc.h" >&2
  exit 1
fi
mkdir -p "$stage/usr/bin"
cat >"$stage/usr/bin/docgen" <<'T'
#!/bin/sh
# docgen NAME SECTION < text > roff: the first line is the summary, blank
# lines separate paragraphs. Lines starting with . or ' are escaped.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: docgen NAME SECTION <text >page" >&2
  exit 2
fi
printf '.TH "%s" "%s"\n.SH NAME\n' "$1" "$2"
first=1
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    .* | \'*) line="\\&$line" ;;
  esac
  if [ "$first" = 1 ]; then
    printf '%s \\- %s\n.SH DESCRIPTION\n' "$1" "$line"
    first=0
  elif [ -z "$line" ]; then
    echo .PP
  else
    printf '%s\n' "$line"
  fi
done
T
chmod 755 "$stage/usr/bin/docgen"
printf 'docgen\nturns text into a manual page.\n' | "$stage/usr/bin/docgen" docgen 1 >/dev/null
sleep 0.4
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" 'usr/bin/docgen NAME SECTION turns plain text into a roff manual page.' >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
