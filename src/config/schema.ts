/**
 * JSON Schema validation (ajv, strict mode) of the YAML config files, with every
 * schema error mapped back to the YAML node it is about.
 */
import type { ErrorObject } from 'ajv';
import { quoteShort, type Diagnostic } from './diagnostic.js';
import * as validators from './validators.generated.js';
import { diagnosticAt, type YamlFile, type YamlPath } from './yamlFile.js';

export type SchemaName = 'hosts' | 'branch' | 'pipeline' | 'recipe';

/** Directory of the JSON Schemas shipped with the package (also used by editors). */
export const SCHEMA_DIR = new URL('../../schema/', import.meta.url);

/** A validator compiled ahead of time from schema/ (scripts/build-validators.mjs: ajv, strict mode, all errors, verbose). */
interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

function validatorFor(name: SchemaName): CompiledValidator {
  return (validators as Record<SchemaName, CompiledValidator>)[name];
}

/** True when `data` is valid; for fast paths that locate errors only when there are some. */
export function schemaAccepts(name: SchemaName, data: unknown): boolean {
  return validatorFor(name)(data);
}

/** Validates `data` (the YAML's JS value) against a schema; errors are located in `yaml`. */
export function validateAgainstSchema(name: SchemaName, data: unknown, yaml: YamlFile): Diagnostic[] {
  const validate = validatorFor(name);
  if (validate(data)) return [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    const diagnostic = toDiagnostic(error, yaml);
    if (diagnostic === null) continue;
    const key = `${diagnostic.line}:${diagnostic.col}:${diagnostic.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diagnostics.push(diagnostic);
  }
  return diagnostics;
}

function parsePointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `hosts[0].power` */
export function displayPath(path: YamlPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out === '' ? 'the file' : out;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

/** Hints for type errors of schema nodes without an `x-hint`: every error says what to do. */
const TYPE_HINTS: Record<string, string> = {
  object: 'write a mapping of `key: value` lines',
  array: 'write a list: `[a, b]`, or one `- item` per line',
  string: 'write text; quote it when YAML would read it as a number or true/false, e.g. "1.10"',
  integer: 'write a whole number, e.g. 2',
  number: 'write a number',
  boolean: 'write true or false',
};

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${quoteShort(value)}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  return typeof value;
}

function hintOf(error: ErrorObject): string | undefined {
  const parent = error.parentSchema as { 'x-hint'?: string } | undefined;
  return parent?.['x-hint'];
}

function toDiagnostic(error: ErrorObject, yaml: YamlFile): Diagnostic | null {
  const path = parsePointer(error.instancePath);
  const where = displayPath(path);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
      return null; // the failing `then` branch reports what is missing
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      // `error.schema` is the `additionalProperties` value itself (false); the allowed keys are beside it.
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const suggestion = closest(key, allowed);
      const hint =
        suggestion !== undefined
          ? `did you mean "${suggestion}"? Otherwise remove it`
          : `remove it; allowed keys${path.length > 0 ? ` in ${where}` : ''}: ${allowed.join(', ')}`;
      return diagnosticAt(yaml, [...path, key], `unknown key "${key}"${path.length > 0 ? ` in ${where}` : ''}`, hint, { key: true });
    }
    case 'required': {
      const key = String(params.missingProperty);
      const properties = (error.parentSchema as { properties?: Record<string, { description?: string }> }).properties ?? {};
      const description = properties[key]?.description;
      return diagnosticAt(
        yaml,
        path,
        `missing required key "${key}"${path.length > 0 ? ` in ${where}` : ''}`,
        `add \`${key}:\`${description !== undefined ? ` (${description.replace(/\.$/, '')})` : ''}`,
      );
    }
    case 'type': {
      const expected = String(params.type)
        .split(',')
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(' or ');
      const firstType = String(params.type).split(',')[0] ?? '';
      return diagnosticAt(yaml, path, `${where} must be ${expected}, not ${describeValue(error.data)}`, hintOf(error) ?? TYPE_HINTS[firstType] ?? `write ${expected}`);
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v));
      const suggestion = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
      return diagnosticAt(
        yaml,
        path,
        `${where} must be one of ${allowed.join(', ')}, not ${describeValue(error.data)}`,
        suggestion !== undefined ? `did you mean "${suggestion}"?` : `use one of: ${allowed.join(', ')}`,
      );
    }
    case 'pattern':
      return diagnosticAt(yaml, path, `${where}: ${describeValue(error.data)} is not allowed here`, hintOf(error) ?? `it must match ${String(params.pattern)}`);
    case 'minItems':
      return diagnosticAt(yaml, path, `${where} must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`, hintOf(error) ?? 'add the missing items, or remove the key');
    case 'maxLength':
      return diagnosticAt(
        yaml,
        path,
        `${where} is ${typeof error.data === 'string' ? error.data.length : '?'} characters long; at most ${String(params.limit)} are allowed`,
        `shorten it: names and versions become file names, which file systems cap at 255 bytes`,
      );
    case 'minLength':
      return diagnosticAt(yaml, path, `${where} must not be empty`, hintOf(error) ?? 'write a value, or remove the key');
    case 'minimum':
    case 'maximum':
      return diagnosticAt(yaml, path, `${where} must be ${String(params.comparison)} ${String(params.limit)}, not ${describeValue(error.data)}`, hintOf(error) ?? `use a number ${String(params.comparison)} ${String(params.limit)}`);
    case 'uniqueItems':
      return diagnosticAt(yaml, [...path, Number(params.i)], `${where} lists the same item twice (items ${Number(params.j) + 1} and ${Number(params.i) + 1})`, 'remove the repeated item');
    default:
      return diagnosticAt(yaml, path, `${where} ${error.message ?? 'is invalid'}`, hintOf(error) ?? 'see the JSON Schemas in schema/ for what is allowed here');
  }
}

/** The allowed word closest to `word` by edit distance, if it is a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
