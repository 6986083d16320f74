// Generated benchmark trees, cached under os.tmpdir()/buildfleet-bench by (count, seed, degrees,
// generator version), and the product invocation that plans them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, GENERATOR_VERSION } from '../gen-recipes.js';
import { writeEmptyIndex, writeRepoIndex } from './repo-index.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = path.join(projectRoot, 'bin', 'buildfleet.js');
export const defaultCacheRoot = path.join(os.tmpdir(), 'buildfleet-bench');
export const UP_TO_DATE_FRACTION = 0.9;

const RECIPES_DONE = '.bench-recipes-complete';
const INDEX_DONE = '.bench-index-complete';

export function cliAvailable() {
  return fs.existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'));
}

/** argv (after `node`) of the benchmarked command: buildfleet -C <dir> plan --format json. */
export function planArgs(dir) {
  return [cliPath, '-C', dir, 'plan', '--format', 'json'];
}

export function expectedUpToDate(count) {
  return Math.round(count * UP_TO_DATE_FRACTION);
}

/** Runs the plan and returns its parsed JSON document (throws with the stderr tail on failure). */
export async function planJson(dir, nodeArgs = []) {
  const outFile = path.join(os.tmpdir(), `bench-plan-${process.pid}-${Date.now()}.json`);
  const out = fs.openSync(outFile, 'w');
  try {
    const { code, stderr } = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, ...planArgs(dir)], { cwd: projectRoot, stdio: ['ignore', out, 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (c) => (err = (err + c).slice(-16384)));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    if (code !== 0) throw new Error(`buildfleet plan exited with ${code} for ${dir}:\n${stderr}`);
    return JSON.parse(fs.readFileSync(outFile, 'utf8'));
  } finally {
    fs.closeSync(out);
    fs.rmSync(outFile, { force: true });
  }
}

/** upToDate and action counts (by type and by type:reason) of a plan's branches. */
export function summarizePlan(plan) {
  const summary = { upToDate: 0, build: 0, skip: 0, remove: 0, reasons: {} };
  for (const b of plan.branches) {
    summary.upToDate += b.upToDate;
    for (const a of b.actions) {
      summary[a.type] = (summary[a.type] ?? 0) + 1;
      const key = `${a.type}:${a.reason}`;
      summary.reasons[key] = (summary.reasons[key] ?? 0) + 1;
    }
  }
  return summary;
}

export function treeDir({ count, seed = 1, degrees = 'direct', cacheRoot = defaultCacheRoot }) {
  return path.join(cacheRoot, `native-${count}-s${seed}-${degrees}-g${GENERATOR_VERSION}`);
}

export function readMeta(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'bench-meta.json'), 'utf8'));
}

/** Generates the tree unless a complete cached one exists; returns its directory. */
export function ensureRecipes({ count, seed = 1, degrees = 'direct', cacheRoot = defaultCacheRoot, regenerate = false, log = () => {} }) {
  const dir = treeDir({ count, seed, degrees, cacheRoot });
  if (!regenerate && fs.existsSync(path.join(dir, RECIPES_DONE))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const started = performance.now();
  generate({ dir, count, seed, degrees });
  fs.writeFileSync(path.join(dir, RECIPES_DONE), `${new Date().toISOString()}\n`);
  log(`generated ${count} recipes in ${dir} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return dir;
}

/**
 * Writes repo/index.json from the fingerprints of an empty-repo plan (90% up to date), then plans
 * again to verify. Returns the verification summary; throws if upToDate is not what was written.
 */
export async function rebuildIndex(dir, log = () => {}) {
  fs.rmSync(path.join(dir, INDEX_DONE), { force: true });
  const meta = readMeta(dir);
  writeEmptyIndex(dir);
  const empty = await planJson(dir);
  const written = writeRepoIndex({ dir, meta, plan: empty });
  const summary = summarizePlan(await planJson(dir));
  log(`repo index of ${dir}: ${written.upToDate} of ${meta.count} written up to date (${written.staleRoots} older versions, ${written.staleDependents} dependents with another fingerprint); the plan reports upToDate ${summary.upToDate}, ${JSON.stringify(summary.reasons)}`);
  if (summary.upToDate !== written.upToDate) {
    throw new Error(`the plan reports ${summary.upToDate} packages up to date, ${written.upToDate} were written up to date (${dir}/repo/index.json)`);
  }
  fs.writeFileSync(path.join(dir, INDEX_DONE), `${JSON.stringify({ written, summary })}\n`);
  return summary;
}

export function indexReady(dir) {
  return fs.existsSync(path.join(dir, INDEX_DONE));
}
