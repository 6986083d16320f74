/** The committed standalone validators are what scripts/build-validators.mjs makes of schema/ now. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('src/config/validators.generated.ts', () => {
  it('matches the JSON Schemas in schema/ (run `npm run build` after editing a schema)', async () => {
    const { generate } = (await import('../../scripts/build-validators.mjs')) as { generate: () => string };
    const committed = readFileSync(new URL('../../src/config/validators.generated.ts', import.meta.url), 'utf8');
    expect(committed === generate()).toBe(true);
  });
});
