/**
 * Shape checks for JSON read back from files buildfleet writes for itself (state, caches), so
 * that a damaged file or entry is told apart from a good one instead of failing later. Pure.
 */

/** A JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An array of strings. */
export const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** A JSON object whose values are all strings. */
export const isStringRecord = (value: unknown): value is Record<string, string> => isRecord(value) && Object.values(value).every((item) => typeof item === 'string');
