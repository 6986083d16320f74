#!/bin/sh
# afterPublish hook (see branches/example.yaml): write packages.txt beside a
# plain repository's index.json, one line per package, sorted by name:
#
#   name<TAB>version[<TAB>description]
#
# buildfleet runs it with BUILDFLEET_REPO_PATH (the repository directory),
# BUILDFLEET_REPO (its name) and BUILDFLEET_BRANCH. The file is replaced
# atomically: readers see the old list or the new one, never half of one.
set -eu

: "${BUILDFLEET_REPO_PATH:?is not set; this is a buildfleet afterPublish hook}"
index=$BUILDFLEET_REPO_PATH/index.json
if [ ! -f "$index" ]; then
  echo "packages-txt: no index at $index (is repo ${BUILDFLEET_REPO:-?} of format plain?)" >&2
  exit 1
fi
command -v node >/dev/null 2>&1 || {
  echo "packages-txt: node is needed to read $index" >&2
  exit 1
}

tmp=$(mktemp "$BUILDFLEET_REPO_PATH/.packages.txt.XXXXXX")
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The index path goes in through the environment, never into the program text.
PACKAGES_TXT_INDEX=$index node -e '
const fs = require("fs");
const file = process.env.PACKAGES_TXT_INDEX;
const fail = (msg) => { process.stderr.write(`packages-txt: ${file}: ${msg}\n`); process.exit(1); };
let index;
try { index = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { fail(e.message); }
if (index === null || typeof index !== "object" || index.formatVersion !== 1 || !Array.isArray(index.packages)) {
  fail("not a formatVersion 1 plain index with a packages array");
}
// One field per column: tabs and line breaks inside a value would break the format.
const field = (v) => String(v).replace(/[\t\r\n]+/g, " ").trim();
const version = (v) => typeof v === "string" ? v
  : v && typeof v === "object" && typeof v.version === "string"
    ? `${v.epoch && v.epoch !== "0" ? `${v.epoch}:` : ""}${v.version}-${v.release ?? "1"}`
    : undefined;
const rows = index.packages.map((p, i) => {
  const name = p && typeof p.name === "string" ? p.name : undefined;
  const ver = p ? version(p.version) : undefined;
  if (!name || ver === undefined) fail(`packages[${i}] has no string name and version`);
  const cols = [field(name), field(ver)];
  if (typeof p.description === "string" && field(p.description) !== "") cols.push(field(p.description));
  return cols;
});
// Byte order, not locale order: the same index always gives the same file.
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
rows.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
process.stdout.write(rows.map((cols) => cols.join("\t") + "\n").join(""));
' >"$tmp"

chmod 644 "$tmp"
mv -f "$tmp" "$BUILDFLEET_REPO_PATH/packages.txt"
trap - EXIT
echo "packages-txt: wrote $(wc -l <"$BUILDFLEET_REPO_PATH/packages.txt") packages to $BUILDFLEET_REPO_PATH/packages.txt" >&2
