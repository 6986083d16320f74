#!/bin/sh
# afterPublish hook (see branches/example.yaml and branches/arch.yaml): write
# packages.txt beside a repository, one line per package, sorted by name:
#
#   name<TAB>version[<TAB>description]
#
# It reads a plain repository's index.json, or a pacman repository's database
# <repo name>.db (%NAME%, %VERSION% and %DESC% of every desc entry, through
# bsdtar). buildfleet runs it with BUILDFLEET_REPO_PATH (the repository
# directory), BUILDFLEET_REPO (its name) and BUILDFLEET_BRANCH. The file is
# replaced atomically: readers see the old list or the new one, never half of one.
set -eu

: "${BUILDFLEET_REPO_PATH:?is not set; this is a buildfleet afterPublish hook}"
index=$BUILDFLEET_REPO_PATH/index.json
db=$BUILDFLEET_REPO_PATH/${BUILDFLEET_REPO:-}.db
if [ -f "$index" ]; then
  source=$index
elif [ -n "${BUILDFLEET_REPO:-}" ] && [ -f "$db" ]; then
  source=$db
  command -v bsdtar >/dev/null 2>&1 || {
    echo "packages-txt: bsdtar is needed to read $db (Debian: libarchive-tools)" >&2
    exit 1
  }
else
  echo "packages-txt: neither a plain index ($index) nor a pacman database ($db) in repo ${BUILDFLEET_REPO:-?}" >&2
  exit 1
fi
command -v node >/dev/null 2>&1 || {
  echo "packages-txt: node is needed to read $source" >&2
  exit 1
}

tmp=$(mktemp "$BUILDFLEET_REPO_PATH/.packages.txt.XXXXXX")
descs=$(mktemp "$BUILDFLEET_REPO_PATH/.packages.desc.XXXXXX")
trap 'rm -f "$tmp" "$descs"' EXIT
trap 'exit 1' HUP INT TERM

# A pacman database: every desc entry, each starting with its %FILENAME% line.
if [ "$source" = "$db" ]; then
  bsdtar -xOf "$db" '*/desc' >"$descs"
fi

# Paths go in through the environment, never into the program text.
PACKAGES_TXT_SOURCE=$source PACKAGES_TXT_DESCS=$descs PACKAGES_TXT_FORMAT=$([ "$source" = "$db" ] && echo pacman || echo plain) node -e '
const fs = require("fs");
const file = process.env.PACKAGES_TXT_SOURCE;
const fail = (msg) => { process.stderr.write(`packages-txt: ${file}: ${msg}\n`); process.exit(1); };
let index;
if (process.env.PACKAGES_TXT_FORMAT === "pacman") {
  // desc entries: %KEY% lines, each followed by its values up to an empty line.
  const packages = [];
  let current = null;
  let key = null;
  for (const line of fs.readFileSync(process.env.PACKAGES_TXT_DESCS, "utf8").split("\n")) {
    if (line === "") { key = null; continue; }
    if (key === null && /^%[A-Z0-9]+%$/.test(line)) {
      key = line.slice(1, -1);
      if (key === "FILENAME") packages.push((current = {}));
      continue;
    }
    if (current === null || key === null) continue;
    if (key === "NAME" && current.name === undefined) current.name = line;
    if (key === "VERSION" && current.version === undefined) current.version = line;
    if (key === "DESC" && current.description === undefined) current.description = line;
  }
  index = { formatVersion: 1, packages };
} else {
  try { index = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { fail(e.message); }
}
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
rm -f "$descs"
trap - EXIT
echo "packages-txt: wrote $(wc -l <"$BUILDFLEET_REPO_PATH/packages.txt") packages to $BUILDFLEET_REPO_PATH/packages.txt" >&2
