/**
 * YAML files with positions: parse with the `yaml` library, keep the document so
 * that any JSON-pointer-like path can be mapped back to `line:col`.
 */
import { isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic } from './diagnostic.js';

export interface YamlFile {
  /** Path as shown to the user. */
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  /**
   * The document as plain data (`doc.toJS()`), computed once; undefined when
   * parseYaml returned diagnostics (the document cannot be read as data).
   */
  readonly data: unknown;
}

export interface Position {
  readonly line: number;
  readonly col: number;
}

/** Parses YAML text; syntax errors come back as located diagnostics. */
export function parseYaml(file: string, text: string): { yaml: YamlFile; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const diagnostics: Diagnostic[] = [];
  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    diagnostics.push({
      severity: 'error',
      file,
      line: pos.line,
      col: pos.col,
      message: `invalid YAML: ${firstLine(error.message)}`,
      hint: yamlHint(error.code),
    });
  }
  if (diagnostics.length > 0) return { yaml: { file, text, doc, lineCounter, data: undefined }, diagnostics };
  const at = (node: Node | null | undefined, message: string, hint: string): void => {
    const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
    diagnostics.push({ severity: 'error', file, line: pos.line, col: pos.col, message, hint });
  };
  // What the parser accepts but toJS() throws on (or stringifies with a process warning).
  let firstAlias: Node | undefined;
  visit(doc, {
    Alias(_, node) {
      firstAlias ??= node;
      if (node.resolve(doc) === undefined) at(node, `alias *${node.source} names no anchor before it`, `define the anchor (&${node.source}) earlier in the file, or write the value out`);
    },
    Pair(_, pair) {
      if (isCollection(pair.key)) at(pair.key, 'a mapping key is a list or mapping', 'keys are plain names: write the key as text');
    },
  });
  if (diagnostics.length > 0) return { yaml: { file, text, doc, lineCounter, data: undefined }, diagnostics };
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // The library's guard against alias expansion bombs ("billion laughs").
    at(firstAlias, `the document cannot be read: ${(error as Error).message}`, 'write the values out instead of nesting aliases');
    return { yaml: { file, text, doc, lineCounter, data: undefined }, diagnostics };
  }
  return { yaml: { file, text, doc, lineCounter, data }, diagnostics };
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping; remove or rename the repeated one';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return 'check the indentation and punctuation on this line (YAML uses spaces, not tabs)';
    case 'TAB_AS_INDENT':
      return 'indent with spaces; YAML does not allow tabs for indentation';
    default:
      return 'fix the YAML syntax at this position';
  }
}

/** A path into the document: mapping keys and sequence indexes. */
export type YamlPath = readonly (string | number)[];

/**
 * The node at `path`, or the deepest existing ancestor when part of the path is
 * missing. With `key: true` the key of the last mapping pair is returned instead
 * of its value (to point at an unknown key).
 */
export function nodeAt(doc: Document.Parsed, path: YamlPath, options: { key?: boolean } = {}): Node | null {
  let node: unknown = doc.contents;
  let found: Node | null = (doc.contents) ?? null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return found;
      if (last && options.key === true) return (pair.key as Node | null) ?? found;
      node = pair.value;
      if (node !== null && node !== undefined) found = node as Node;
      else return (pair.key as Node | null) ?? found;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined || item === null) return found;
      node = item;
      found = item as Node;
    } else {
      return found;
    }
  }
  return found;
}

/** 1-based position of `path` in the file (or of its nearest existing ancestor). */
export function positionOf(yaml: YamlFile, path: YamlPath, options: { key?: boolean } = {}): Position {
  const node = nodeAt(yaml.doc, path, options);
  const offset = node?.range?.[0] ?? 0;
  const pos = yaml.lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/**
 * The source text of a scalar at `path` when YAML read it as something other than
 * a string (a version written `1.10` is the number 1.1 to YAML; the packager meant "1.10").
 */
export function scalarSource(yaml: YamlFile, path: YamlPath): string | undefined {
  const node = nodeAt(yaml.doc, path);
  if (!isScalar(node) || node.range === undefined || node.range === null) return undefined;
  if (typeof node.value === 'string') return node.value;
  return yaml.text.slice(node.range[0], node.range[1]).trim();
}

/** A located diagnostic at `path` of a YAML file. */
export function diagnosticAt(
  yaml: YamlFile,
  path: YamlPath,
  message: string,
  hint?: string,
  options: { key?: boolean; severity?: 'error' | 'warning' } = {},
): Diagnostic {
  const pos = positionOf(yaml, path, options);
  return { severity: options.severity ?? 'error', file: yaml.file, line: pos.line, col: pos.col, message, ...(hint !== undefined ? { hint } : {}) };
}
