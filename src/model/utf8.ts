/**
 * Writing short strings into a buffer as UTF-8 on hot paths (dependency names, fingerprint
 * members: hundreds of thousands per plan). Pure.
 */

/**
 * Writes `text` as UTF-8 into `target` at `offset` and returns the bytes written; the caller
 * leaves room for `text.length * 3` bytes. ASCII (the rule for names, versions and digests) is
 * written a character a byte, with no encoder call; anything else goes through the encoder.
 */
export function writeUtf8(target: Buffer, text: string, offset: number): number {
  for (let c = 0; c < text.length; c++) {
    const code = text.charCodeAt(c);
    if (code >= 0x80) return target.write(text, offset, 'utf8');
    target[offset + c] = code;
  }
  return text.length;
}

/**
 * Writes `text` as JSON.stringify writes it (quoted, escaped), as UTF-8, into `target` at `offset`
 * and returns the bytes written; the caller leaves room for `text.length * 6 + 2` bytes. Printable
 * ASCII without `"` and `\` (names, versions, digests) is written a character a byte; anything else
 * goes through JSON.stringify and the encoder.
 */
export function writeJsonString(target: Buffer, text: string, offset: number): number {
  target[offset] = 34; // "
  for (let c = 0; c < text.length; c++) {
    const code = text.charCodeAt(c);
    if (code < 0x20 || code >= 0x80 || code === 34 || code === 92) return target.write(JSON.stringify(text), offset, 'utf8');
    target[offset + 1 + c] = code;
  }
  target[offset + 1 + text.length] = 34;
  return text.length + 2;
}
