// The load run of issue 8 item 4, shared by bench/load-5000.js and test/load/load.test.ts:
// a config of `count` small recipes over SSH hosts, and the checks of what the run left.
//
// Recipes: `bases` independent base recipes b0…, then l0… each depending on one base (so
// every build but the bases gets one dependency artifact uploaded). Each build prints
// LOG_LINES numbered lines, writes its artifact and prints `END-OF-LOG <package>` last.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sshHostsYaml } from './sshd.js';

/** Lines each build prints before its end marker. */
export const LOG_LINES = 20;

const BUILD_SH = `#!/bin/sh
set -eu
i=1
while [ $i -le ${LOG_LINES} ]; do echo "line $i of $BUILDFLEET_PACKAGE"; i=$((i + 1)); done
{ echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION"; ls "$BUILDFLEET_DEPS"; } > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"
echo "END-OF-LOG $BUILDFLEET_PACKAGE"
`;

/** The recipe names of a load config, in the order they are written. */
export function loadRecipeNames(count, bases) {
  const b = Math.min(bases, count);
  const width = String(count).length;
  return [...Array.from({ length: b }, (_, i) => `b${String(i).padStart(width, '0')}`), ...Array.from({ length: count - b }, (_, i) => `l${String(i).padStart(width, '0')}`)];
}

/**
 * Writes the config repository into `dir`: hosts.yaml with `fleet`'s hosts
 * ({ user, identityFile, knownHostsFile, hosts: [{ address, port, workdir }] }) of power `power`,
 * pipelines/shell.yaml, branches/main.yaml (plain repo at <dir>/repo, guards off) and the recipes.
 */
export function writeLoadConfig(dir, { count, bases = 50, fleet, power = 4 }) {
  fs.mkdirSync(path.join(dir, 'pipelines'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'branches'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'hosts.yaml'), sshHostsYaml(fleet, () => power, ['    labels: [linux, x86_64]']));
  fs.writeFileSync(path.join(dir, 'pipelines', 'shell.yaml'), 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 10m\n');
  fs.writeFileSync(
    path.join(dir, 'branches', 'main.yaml'),
    'source:\n  path: recipes\n  format: recipe\npipeline: shell\nrebuild: transitive\nguards:\n  maxBuilds: null\nrepos:\n  - name: main\n    path: repo\n    format: plain\n    prune: true\n',
  );
  const names = loadRecipeNames(count, bases);
  const baseNames = names.filter((n) => n.startsWith('b'));
  names.forEach((name, i) => {
    const rdir = path.join(dir, 'recipes', name);
    fs.mkdirSync(rdir, { recursive: true });
    const depends = name.startsWith('l') ? [baseNames[i % baseNames.length]] : [];
    fs.writeFileSync(path.join(rdir, 'recipe.yaml'), `name: ${name}\nversion: "1.0"\ndepends: [${depends.join(', ')}]\n`);
    fs.writeFileSync(path.join(rdir, 'build.sh'), BUILD_SH, { mode: 0o755 });
  });
  return { names, repo: path.join(dir, 'repo') };
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The body a complete log of `pkg` has between its step header and its last line. */
function expectedOutput(pkg) {
  return `${Array.from({ length: LOG_LINES }, (_, i) => `line ${i + 1} of ${pkg}\n`).join('')}END-OF-LOG ${pkg}\n`;
}

/**
 * What is wrong with what a load run left (empty: nothing). Reads the run result
 * (<state>/runs/latest.json), every build log, the repo (index, files, sha256) and the ledger:
 * every recipe built once in this run, its log complete (all lines, the end marker, then
 * buildfleet's `built` line), every index entry's file present and intact, and the ledger and
 * the repo naming the same packages with the same fingerprints, nothing else. `lost`: build
 * attempts the ledger records as lost (host or connection faults, retried).
 */
export function checkLoadRun({ stateDir, repo, names }) {
  const problems = [];
  const add = (p) => {
    if (problems.length < 50) problems.push(p);
  };
  const run = JSON.parse(fs.readFileSync(path.join(stateDir, 'runs', 'latest.json'), 'utf8'));
  const results = run.branches.find((b) => b.name === 'main')?.results ?? [];
  const byPackage = new Map(results.map((r) => [r.package, r]));
  if (results.length !== names.length) add(`the run result has ${results.length} results, not ${names.length}`);
  let logBytes = 0;
  for (const name of names) {
    const r = byPackage.get(name);
    if (r === undefined) {
      add(`${name}: no result`);
      continue;
    }
    if (r.status !== 'built') {
      add(`${name}: ${r.status} ${r.reason ?? ''} ${r.detail ?? ''}`);
      continue;
    }
    let log;
    try {
      log = fs.readFileSync(r.log, 'utf8');
    } catch (error) {
      add(`${name}: log ${r.log} unreadable: ${error.message}`);
      continue;
    }
    logBytes += log.length;
    const step = '==> step build: ./build.sh\n';
    const at = log.indexOf(step);
    const body = at >= 0 ? log.slice(at + step.length) : '';
    const want = expectedOutput(name);
    if (!log.startsWith(`==> main/${name} 1.0-1 on h`) || !body.startsWith(want) || !/^==> built in [0-9.]+s: \S+\n$/.test(body.slice(want.length))) {
      add(`${name}: log incomplete or damaged (${log.length} bytes; ends ${JSON.stringify(log.slice(-80))})`);
    }
  }

  const index = JSON.parse(fs.readFileSync(path.join(repo, 'index.json'), 'utf8'));
  const entries = new Map();
  for (const e of index.packages) {
    if (entries.has(e.name)) add(`index: ${e.name} twice`);
    entries.set(e.name, e);
    const file = path.join(repo, e.file);
    if (!fs.existsSync(file)) add(`index: ${e.name}: ${e.file} missing`);
    else if (fs.statSync(file).size !== e.size || sha256(file) !== e.sha256) add(`index: ${e.name}: ${e.file} does not match its size or sha256`);
  }

  const built = new Map();
  let lost = 0;
  for (const line of fs.readFileSync(path.join(stateDir, 'ledger.jsonl'), 'utf8').split('\n')) {
    if (line === '') continue;
    const rec = JSON.parse(line);
    if (rec.kind === 'build' && rec.status === 'lost') lost++;
    if (rec.kind !== 'build' || rec.status !== 'built') continue;
    if (built.has(rec.recipe)) add(`ledger: ${rec.recipe} built twice`);
    built.set(rec.recipe, rec.fingerprint);
  }
  for (const name of names) {
    const e = entries.get(name);
    const fp = built.get(name);
    if (e === undefined) add(`${name}: not in the repo index`);
    if (fp === undefined) add(`${name}: no built record in the ledger`);
    if (e !== undefined && fp !== undefined && e.fingerprint !== fp) add(`${name}: repo fingerprint ${e.fingerprint} but ledger ${fp}`);
  }
  const wanted = new Set(names);
  for (const name of entries.keys()) if (!wanted.has(name)) add(`index: unexpected entry ${name}`);
  for (const name of built.keys()) if (!wanted.has(name)) add(`ledger: unexpected built record ${name}`);
  const files = fs.readdirSync(repo).filter((f) => !f.startsWith('.') && f !== 'index.json');
  if (files.length !== entries.size) add(`repo: ${files.length} files beside the index, ${entries.size} entries`);
  return { problems, logBytes, results: results.length, lost };
}
