/**
 * The native source format: one directory per package holding `recipe.yaml` and
 * whatever the pipeline needs (build scripts, patches). Every file of the
 * directory is hashed, since any of them can change the build's output.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../config/diagnostic.js';
import { validateAgainstSchema } from '../config/schema.js';
import { diagnosticAt, parseYaml, scalarSource } from '../config/yamlFile.js';
import { PACKAGE_NAME_PATTERN, type InvalidRecipe, type PackageName, type Recipe, type RecipeId, type SourceSnapshot } from '../model/types.js';

export const RECIPE_FILE = 'recipe.yaml';

export interface ReadNativeOptions {
  /** Absolute path of the source tree. */
  readonly root: string;
  /** How paths are shown in diagnostics (the root relative to the config directory). */
  readonly displayRoot: string;
}

interface WrittenRecipe {
  name: string;
  version: string;
  release?: string;
  epoch?: string;
  description?: string;
  depends?: string[];
  buildDepends?: string[];
  provides?: string[];
}

export function readNativeRecipes(options: ReadNativeOptions): SourceSnapshot {
  const recipes: Recipe[] = [];
  const invalid: InvalidRecipe[] = [];
  const diagnostics: Diagnostic[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(options.root, { withFileTypes: true });
  } catch (error) {
    diagnostics.push({ severity: 'error', file: options.displayRoot, message: `cannot read the source tree (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check source.path in the branch file' });
    return { recipes, invalid, diagnostics };
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const result = readRecipeDir(options, entry.name);
    if (result === null) continue;
    if ('diagnostics' in result) invalid.push(result);
    else recipes.push(result);
  }
  return { recipes, invalid, diagnostics };
}

/** One recipe directory; null when it holds no recipe.yaml (not a recipe). */
function readRecipeDir(options: ReadNativeOptions, dirName: string): Recipe | InvalidRecipe | null {
  const dir = path.join(options.root, dirName);
  const displayFile = `${options.displayRoot}/${dirName}/${RECIPE_FILE}`;
  const id = dirName as RecipeId;
  let files: Record<string, string>;
  let text: string;
  try {
    const hashed = hashDirectory(dir);
    if (hashed.recipeText === undefined) return null;
    files = hashed.files;
    text = hashed.recipeText;
  } catch (error) {
    return { id, file: displayFile, diagnostics: [{ severity: 'error', file: displayFile, message: `cannot read the recipe directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the permissions of the recipe directory' }] };
  }
  const invalid = (diagnostics: Diagnostic[]): InvalidRecipe => ({ id, file: displayFile, diagnostics });

  if (!PACKAGE_NAME_PATTERN.test(dirName)) {
    return invalid([{ severity: 'error', file: displayFile, message: `directory name ${JSON.stringify(dirName)} is not a valid package name`, hint: 'rename the directory: package names use letters, digits and @._+- and start with a letter or digit' }]);
  }
  const { yaml, diagnostics: syntax } = parseYaml(displayFile, text);
  if (syntax.length > 0) return invalid(syntax);
  const data: unknown = yaml.doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return invalid([{ severity: 'error', file: displayFile, line: 1, col: 1, message: 'a recipe must be a mapping with at least `name` and `version`', hint: `write e.g. "name: ${dirName}" and "version: \\"1.0\\""` }]);
  }
  // YAML reads `version: 1.10` as the number 1.1; keep what the packager wrote.
  const record = data as Record<string, unknown>;
  for (const key of ['version', 'release', 'epoch'] as const) {
    if (typeof record[key] === 'number') record[key] = scalarSource(yaml, [key]);
  }
  const schemaErrors = validateAgainstSchema('recipe', record, yaml);
  if (schemaErrors.length > 0) return invalid(schemaErrors);
  const w = record as unknown as WrittenRecipe;
  if (w.name !== dirName) {
    return invalid([diagnosticAt(yaml, ['name'], `recipe name "${w.name}" does not match its directory "${dirName}"`, `rename the directory to "${w.name}" or set name: ${dirName}`)]);
  }
  const name = w.name as PackageName;
  return {
    id,
    name,
    packages: [name],
    version: { ...(w.epoch !== undefined ? { epoch: w.epoch } : {}), version: w.version, release: w.release ?? '1' },
    depends: w.depends ?? [],
    buildDepends: w.buildDepends ?? [],
    provides: w.provides ?? [],
    dir,
    file: displayFile,
    files,
    ...(w.description !== undefined ? { description: w.description } : {}),
  };
}

/** sha256 of every file under `dir` (links by their target), and the text of recipe.yaml. */
function hashDirectory(dir: string): { files: Record<string, string>; recipeText: string | undefined } {
  const files: Record<string, string> = {};
  let recipeText: string | undefined;
  const walk = (abs: string, rel: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const entryAbs = path.join(abs, entry.name);
      const entryRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(entryAbs, entryRel);
      } else if (entry.isSymbolicLink()) {
        files[entryRel] = `link:${readlinkSync(entryAbs)}`;
      } else if (entry.isFile()) {
        const content = readFileSync(entryAbs);
        files[entryRel] = createHash('sha256').update(content).digest('hex');
        if (entryRel === RECIPE_FILE) recipeText = content.toString('utf8');
      }
    }
  };
  walk(dir, '');
  return { files, recipeText };
}
