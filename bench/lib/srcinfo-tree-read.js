#!/usr/bin/env node
// One cold read of a .SRCINFO tree with the product's tree reader (dist/sources/recipeTree.js) in a
// fresh process, with a given number of threads (this one included): what `plan` spends on the
// source, without start-up, config, graph or planner. For bench/plan-srcinfo.js, which compares one
// thread with two (the worker threads' start-up and structured clone against the work they take).
//
//   node bench/lib/srcinfo-tree-read.js <tree> <threads>
// prints `{"threads":T,"ms":W,"mainCpuMs":M,"cpuMs":C,"recipes":R}` on stdout: W the wall time of
// the read, M the CPU time of the main thread (the plan's critical path), C the whole process's
// (workers, V8's compiler and GC threads) during the read; from /proc/self/task/*/stat.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TICKS_PER_SECOND = 100;

/** CPU milliseconds of every thread of this process, by thread id. */
function threadCpu() {
  const cpu = new Map();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    } catch {
      // the thread ended meanwhile
    }
  }
  return cpu;
}

const [root, threadsArg] = process.argv.slice(2);
if (!root || !threadsArg) {
  process.stderr.write('usage: node bench/lib/srcinfo-tree-read.js <tree> <threads>\n');
  process.exit(1);
}
const threads = Number(threadsArg);
const { readRecipeTree } = await import(pathToFileURL(path.join(projectRoot, 'dist', 'sources', 'recipeTree.js')).href);
const before = threadCpu();
const started = performance.now();
const source = await readRecipeTree({ root, displayRoot: 'pkgs', format: { format: 'srcinfo', architecture: 'x86_64' }, threads });
const ms = performance.now() - started;
const after = threadCpu();
let cpuMs = 0;
for (const [tid, value] of after) cpuMs += value - (before.get(tid) ?? 0);
const mainCpuMs = (after.get(String(process.pid)) ?? 0) - (before.get(String(process.pid)) ?? 0);
process.stdout.write(`${JSON.stringify({ threads, ms, mainCpuMs, cpuMs, recipes: source.recipes.length })}\n`);
