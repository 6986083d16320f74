import path from 'node:path';

/** Shows a path relative to the config directory when it is inside it, else as it is. */
export function displayPath(configDir: string, p: string): string {
  const rel = path.relative(configDir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
