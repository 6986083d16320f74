#!/bin/sh
# Build report-gen: depends on "awk", which no recipe is named: any dependency shipping usr/bin/awk will do.
# Run by the build step of pipelines/shell.yaml: dependencies in $root, install into $stage.
set -eu

# The dependency is on the virtual name "awk": whichever dependency provides it
# has put usr/bin/awk into the sysroot; the provider's name is not assumed.
if [ ! -x "$root/usr/bin/awk" ]; then
  echo "report-gen: no dependency provides usr/bin/awk; the unpacked dependencies hold:" >&2
  ls -R "$root" >&2 || true
  exit 1
fi
awk_version=$("$root/usr/bin/awk" -W version)
echo "report-gen: awk is $awk_version"
mkdir -p "$stage/usr/bin"
cat >"$stage/usr/bin/report-gen" <<'T'
#!/bin/sh
# report-gen FILE...: one line per file: lines, words, bytes, name (sorted by name).
set -eu
LC_ALL=C
export LC_ALL
for f in "$@"; do
  printf '%s\t%s\t%s\t%s\n' "$(wc -l <"$f")" "$(wc -w <"$f")" "$(wc -c <"$f")" "$f"
done | sort -t "$(printf '\t')" -k 4
T
chmod 755 "$stage/usr/bin/report-gen"
# Test it on the recipe's own files.
"$stage/usr/bin/report-gen" recipe.yaml build.sh >"$stage/usr/share/report-gen/sample-report.tsv"
[ "$(wc -l <"$stage/usr/share/report-gen/sample-report.tsv")" -eq 2 ]
sleep 0.3
printf '%s %s\n\n%s\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" "usr/bin/report-gen summarises files. Built with: $awk_version." >"$stage/usr/share/$BUILDFLEET_PACKAGE/README"
