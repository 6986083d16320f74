// Types of bench/lib/load-fixture.js for the TypeScript test that shares it (test/load/load.test.ts).
export declare const LOG_LINES: number;
export interface LoadFleet {
  readonly user: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  readonly hosts: readonly { readonly address: string; readonly port: number; readonly workdir: string }[];
}
export declare function loadRecipeNames(count: number, bases: number): string[];
export declare function writeLoadConfig(dir: string, options: { count: number; bases?: number; fleet: LoadFleet; power?: number }): { names: string[]; repo: string };
export declare function checkLoadRun(options: { stateDir: string; repo: string; names: readonly string[] }): { problems: string[]; logBytes: number; results: number; lost: number };
