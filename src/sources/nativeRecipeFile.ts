/**
 * Parsing one native `recipe.yaml`. The common case (a valid recipe) takes a fast
 * path with js-yaml; anything unusual — a syntax error, a schema error, a version
 * YAML reads as a number — is parsed again with `yaml`, which keeps positions, so
 * that every diagnostic is located and every version keeps its source text.
 */
import { readFileSync } from 'node:fs';
import jsyaml from 'js-yaml';
import { quoteShort, type Diagnostic } from '../config/diagnostic.js';
import { schemaAccepts, validateAgainstSchema } from '../config/schema.js';
import { diagnosticAt, parseYaml, positionOf, scalarSource } from '../config/yamlFile.js';
import { dependencyName } from '../model/graph.js';
import { PACKAGE_NAME_PATTERN, type InvalidRecipe, type PackageName, type Recipe, type RecipeId } from '../model/types.js';

export const RECIPE_FILE = 'recipe.yaml';

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

export interface RecipeFileInput {
  /** The recipe directory's name (the recipe id). */
  readonly dirName: string;
  /** Absolute path of the recipe directory. */
  readonly dir: string;
  /** recipe.yaml as shown in diagnostics. */
  readonly displayFile: string;
  readonly text: string;
  /** sha256 of every file of the directory. */
  readonly files: Readonly<Record<string, string>>;
}

/** Keys whose scalars are text even when they look like numbers. */
const TEXT_KEYS = ['name', 'version', 'release', 'epoch', 'description'] as const;

export function parseRecipeFile(input: RecipeFileInput): Recipe | InvalidRecipe {
  const id = input.dirName as RecipeId;
  if (!PACKAGE_NAME_PATTERN.test(input.dirName)) {
    return invalid(input, [
      {
        severity: 'error',
        file: input.displayFile,
        message: `directory name ${quoteShort(input.dirName)} is not a valid package name`,
        hint: 'rename the directory: package names use letters, digits and @._+- and start with a letter or digit',
      },
    ]);
  }
  const fast = parseFast(input.text);
  if (fast !== null && fast.name === input.dirName) return toRecipe(id, input, fast);
  return parseLocated(input);
}

/**
 * js-yaml with the failsafe schema, which keeps every scalar as the text that was
 * written (`version: 1.10` stays "1.10", `release: 1` is "1"); null when the
 * located slow path must decide.
 */
function parseFast(text: string): WrittenRecipe | null {
  let data: unknown;
  try {
    data = jsyaml.load(text, { schema: jsyaml.FAILSAFE_SCHEMA });
  } catch {
    return null;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  return schemaAccepts('recipe', data) ? (data as WrittenRecipe) : null;
}

function parseLocated(input: RecipeFileInput): Recipe | InvalidRecipe {
  const { yaml, diagnostics: syntax } = parseYaml(input.displayFile, input.text);
  if (syntax.length > 0) return invalid(input, syntax);
  const data: unknown = yaml.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return invalid(input, [
      {
        severity: 'error',
        file: input.displayFile,
        line: 1,
        col: 1,
        message: 'a recipe must be a mapping with at least `name` and `version`',
        hint: `write e.g. "name: ${input.dirName}" and "version: \\"1.0\\""`,
      },
    ]);
  }
  // YAML reads `version: 1.10` as the number 1.1; keep what the packager wrote (as the fast path does).
  const record = data as Record<string, unknown>;
  for (const key of TEXT_KEYS) {
    if (typeof record[key] === 'number') record[key] = scalarSource(yaml, [key]);
  }
  const schemaErrors = validateAgainstSchema('recipe', record, yaml);
  if (schemaErrors.length > 0) return invalid(input, schemaErrors);
  const w = record as unknown as WrittenRecipe;
  if (w.name !== input.dirName) {
    return invalid(input, [
      diagnosticAt(yaml, ['name'], `recipe name "${w.name}" does not match its directory "${input.dirName}"`, `rename the directory to "${w.name}" or set name: ${input.dirName}`),
    ]);
  }
  return toRecipe(input.dirName as RecipeId, input, w);
}

function toRecipe(id: RecipeId, input: RecipeFileInput, w: WrittenRecipe): Recipe {
  const name = w.name as PackageName;
  return {
    id,
    name,
    packages: [name],
    version: { ...(w.epoch !== undefined ? { epoch: w.epoch } : {}), version: w.version, release: w.release ?? '1' },
    depends: w.depends ?? [],
    buildDepends: w.buildDepends ?? [],
    provides: w.provides ?? [],
    dir: input.dir,
    file: input.displayFile,
    files: input.files,
    ...(w.description !== undefined ? { description: w.description } : {}),
  };
}

function invalid(input: RecipeFileInput, diagnostics: Diagnostic[]): InvalidRecipe {
  return { id: input.dirName as RecipeId, file: input.displayFile, diagnostics };
}

/**
 * Where a recipe.yaml names a dependency: the position of the `depends` or
 * `buildDepends` item whose name (constraint stripped) is `dependency`. Read
 * again with positions; only used for diagnostics.
 */
export function locateDependency(file: string, dependency: string): { line: number; col: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const { yaml } = parseYaml(file, text);
  const data = yaml.data as { depends?: unknown; buildDepends?: unknown } | null;
  for (const key of ['depends', 'buildDepends'] as const) {
    const list = data?.[key];
    if (!Array.isArray(list)) continue;
    const index = list.findIndex((item) => typeof item === 'string' && dependencyName(item) === dependency);
    if (index >= 0) return positionOf(yaml, [key, index]);
  }
  return undefined;
}
