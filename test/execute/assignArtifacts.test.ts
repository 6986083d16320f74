/** Which package each artifact file of a build belongs to (assignArtifacts), and the errors for files that belong to none or to one twice. */
import { describe, expect, it } from 'vitest';
import { assignArtifacts } from '../../src/execute/localTransport.js';

const files = (...names: string[]): { path: string; base: string }[] => names.map((base) => ({ path: `/w/out/${base}`, base }));

describe('assignArtifacts', () => {
  it('gives each file to the package whose <name>-<version> it starts with, the longest name first', () => {
    expect(assignArtifacts(files('tool-0.5-1-any.pkg.tar.gz', 'tool-doc-0.5-1-any.pkg.tar.gz'), ['tool', 'tool-doc'], '0.5-1')).toEqual([
      { name: 'tool', file: 'tool-0.5-1-any.pkg.tar.gz', path: '/w/out/tool-0.5-1-any.pkg.tar.gz' },
      { name: 'tool-doc', file: 'tool-doc-0.5-1-any.pkg.tar.gz', path: '/w/out/tool-doc-0.5-1-any.pkg.tar.gz' },
    ]);
    // pacman's file names leave out the epoch.
    expect(assignArtifacts(files('zlib-1.3.1-2-x86_64.pkg.tar.zst'), ['zlib'], '1:1.3.1-2')[0]!.name).toBe('zlib');
  });

  it('names the single artifact of a single package after it', () => {
    expect(assignArtifacts(files('out.tar.gz'), ['hello'], '1:2.0-1')).toEqual([{ name: 'hello', file: 'hello-1_2.0-1-out.tar.gz', path: '/w/out/out.tar.gz' }]);
  });

  it('refuses files of no package, packages with no file or two, and packages the build signed itself', () => {
    expect(() => assignArtifacts(files(), ['a'], '1-1')).toThrow('the build produced no artifact');
    expect(() => assignArtifacts(files('a-1-1.tgz', 'junk.txt'), ['a'], '1-1')).toThrow('artifacts junk.txt belong to no package');
    expect(() => assignArtifacts(files('a-1-1.tgz'), ['a', 'b'], '1-1')).toThrow('the build produced no artifact for b');
    expect(() => assignArtifacts(files('a-1-1.tgz', 'a-1-1.txz'), ['a'], '1-1')).toThrow('several artifacts for a: a package is one file');
    expect(() => assignArtifacts(files('a-1-1-any.pkg.tar.zst', 'a-1-1-any.pkg.tar.zst.sig'), ['a'], '1-1')).toThrow(
      'a-1-1-any.pkg.tar.zst.sig: the build signed its packages; build them unsigned (makepkg --nosign) and give the repo `sign:`, which signs on the machine that publishes',
    );
  });
});
