/**
 * Tar archives written header by header with node-tar's Header, so that tests can
 * make the hostile entries (absolute paths, `..`, links out, devices) that tar
 * tools refuse to create.
 */
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

export interface RawEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  readonly linkpath?: string;
  readonly content?: string;
  readonly mode?: number;
}

/** The bytes of a tar archive holding `entries` as written (gzip-compressed with `gzip: true`). */
export function rawTar(entries: readonly RawEntry[], options: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'File';
    const body = Buffer.from(type === 'File' ? (e.content ?? '') : '');
    const header = new Header({
      path: e.path,
      type,
      size: body.length,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}),
    });
    header.encode();
    blocks.push(header.block!);
    if (body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip === true ? gzipSync(tar) : tar;
}

/** A tiny base system: a shell script, a release file, a library with an absolute symlink inside the root. */
export function baseSystem(release: string): RawEntry[] {
  return [
    { path: './', type: 'Directory' },
    { path: './bin/', type: 'Directory' },
    { path: './bin/hello', content: '#!/bin/sh\necho hello from the root\n', mode: 0o755 },
    { path: './etc/', type: 'Directory' },
    { path: './etc/release', content: `${release}\n` },
    { path: './lib/', type: 'Directory' },
    { path: './lib/libc.so.6', content: 'not really a library\n' },
    { path: './usr/', type: 'Directory' },
    { path: './usr/lib/', type: 'Directory' },
    { path: './usr/lib/libc.so', type: 'SymbolicLink', linkpath: '/lib/libc.so.6' },
    { path: './usr/lib/libc-rel.so', type: 'SymbolicLink', linkpath: '../../lib/libc.so.6' },
    { path: './lib/libc.so.hard', type: 'Link', linkpath: './lib/libc.so.6' },
  ];
}
