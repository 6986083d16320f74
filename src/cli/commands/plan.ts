/** `buildfleet plan`: the dry run. Reads everything, writes nothing (but the --out file). */
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import { hasChanges, type SavedPlan } from '../../plan/types.js';
import { renderPlan, type PlanFormat } from '../../report/renderPlan.js';
import { planBranches } from '../../run/planBranches.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { writeFileAtomic } from '../../execute/fsUtil.js';
import { checkPrerequisites } from '../../execute/prerequisiteCheck.js';
import { printDiagnostics, type Output } from '../io.js';

export interface PlanCommandOptions {
  readonly branch: readonly string[];
  readonly format: PlanFormat;
  readonly out?: string;
  readonly detailedExitcode: boolean;
  readonly retryFailed: boolean;
}

export async function runPlan(global: GlobalOptions, options: PlanCommandOptions, out: Output): Promise<ExitCode> {
  const loaded = loadConfig(global.configDir);
  printDiagnostics(out, loaded.diagnostics);
  if (loaded.config === null) return ExitCode.error;
  const outcome = await planBranches({
    config: loaded.config,
    stateDir: global.stateDir(loaded.config.dir),
    branches: options.branch,
    retryFailed: options.retryFailed,
  });
  printDiagnostics(out, outcome.diagnostics);
  if (outcome.plan === null) return ExitCode.error;
  // A tarball that does not match its sha256 is a config error; digests come from reconcile's cache when it is current.
  const prerequisites = await checkPrerequisites({ configDir: loaded.config.dir, stateDir: global.stateDir(loaded.config.dir), branches: outcome.branches.map((b) => b.config), entries: () => false, save: false });
  printDiagnostics(out, prerequisites.diagnostics);
  if (prerequisites.diagnostics.length > 0) return ExitCode.error;
  if (options.out !== undefined) {
    const saved: SavedPlan = { ...outcome.plan, kind: 'buildfleet-plan', createdAt: new Date().toISOString(), stateDigest: outcome.stateDigest, options: { retryFailed: options.retryFailed } };
    try {
      await writeFileAtomic(path.resolve(options.out), `${JSON.stringify(saved, null, 2)}\n`);
    } catch (error) {
      out.stderr(`${options.out}: error: cannot write the plan (${(error as NodeJS.ErrnoException).code ?? String(error)})\n  hint: check that the directory exists and is writable\n`);
      return ExitCode.error;
    }
  }
  out.stdout(renderPlan(outcome.plan, options.format));
  if (options.detailedExitcode && hasChanges(outcome.plan)) return ExitCode.changes;
  return ExitCode.ok;
}
