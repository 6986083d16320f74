/** `buildfleet validate`: load and check all config and recipes, print every problem. */
import { hasErrors, sortDiagnostics } from '../../config/diagnostic.js';
import { loadConfig } from '../../config/load.js';
import { planBranches } from '../../run/planBranches.js';
import { ExitCode } from '../exitCodes.js';
import { printDiagnostics, type Output } from '../io.js';
import type { GlobalOptions } from '../globalOptions.js';

export async function runValidate(global: GlobalOptions, out: Output): Promise<ExitCode> {
  const loaded = loadConfig(global.configDir);
  if (loaded.config === null) {
    printDiagnostics(out, loaded.diagnostics);
    return ExitCode.error;
  }
  // Recipes are checked too: read every branch's source as a plan would (nothing is written).
  const outcome = await planBranches({ config: loaded.config, stateDir: global.stateDir(loaded.config.dir) });
  const all = sortDiagnostics([...loaded.diagnostics, ...outcome.diagnostics]);
  printDiagnostics(out, all);
  if (hasErrors(all)) return ExitCode.error;
  const recipes = outcome.branches.reduce((n, b) => n + b.source.recipes.length, 0);
  out.stderr(`ok: ${loaded.config.hosts.length} host(s), ${loaded.config.pipelines.size} pipeline(s), ${loaded.config.branches.length} branch(es), ${recipes} recipe(s)${all.length > 0 ? `, ${all.length} warning(s)` : ''}\n`);
  return ExitCode.ok;
}
