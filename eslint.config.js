// Lint with type information; keep I/O out of the pure core (model/, plan/, schedule/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process', 'ssh2', 'execa', 'simple-git', 'net', 'node:net'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', 'bench/', 'example/', 'coverage/', 'src/config/validators.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
      globals: { process: 'readonly', console: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain JavaScript build scripts: no type information to check against.
    files: ['scripts/**/*.mjs', 'bin/**/*.js', 'eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // The command's entry point is CommonJS (bin/package.json): it starts sooner than an ES module.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/model/**', 'src/plan/**', 'src/schedule/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules.map((name) => ({ name, message: 'model/, plan/ and schedule/ are pure: do I/O at the edges and pass data in.' })) }],
      'no-restricted-globals': ['error', { name: 'process', message: 'Only src/cli/ touches process.' }],
    },
  },
);
