// @ts-check
/**
 * ESLint 9 flat config. Prettier owns formatting (`npm run format:check`); ESLint checks what a
 * formatter cannot: promise handling and `any` leaks (type-aware), type-only imports, the import
 * graph, and the length of what Prettier cannot wrap (comments). The layer table is a test
 * (test/unit/layout/layers.test.ts), not a lint rule.
 */
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'data/', 'chaos-runs/', 'tmp/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // Each file is checked against its nearest tsconfig (src/raft has its own, without Node).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Parse imported .ts files with the TypeScript parser (no-cycle follows them) and resolve
      // `./x.js` to `./x.ts` as tsc does under NodeNext.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['tsconfig.json'] })],
    },
    rules: {
      // Promises: every one is awaited, handled, or `void`ed on purpose (with a comment why).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `import type` for type-only imports (verbatimModuleSyntax keeps value imports at runtime).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A `let` assigned once, later than closures that read it, cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // tsc already reports these (noUnusedLocals, noUnusedParameters), with `_` as its escape.
      '@typescript-eslint/no-unused-vars': 'off',
      // An async function that implements a Promise-returning contract without awaiting is fine.
      '@typescript-eslint/require-await': 'off',
      'import-x/no-unresolved': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/no-self-import': 'error',
      // Runtime cycles only: `import type` edges are erased and not followed.
      'import-x/no-cycle': 'error',
      // What the published code imports must be in "dependencies" (types too: they ship in .d.ts).
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: false, includeTypes: true }],
    },
  },
  {
    files: ['test/**', 'scripts/**', 'vitest.config.ts'],
    rules: {
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: true, includeTypes: true }],
    },
  },
  // Turns off every rule that Prettier's output could break; must come after the rule sets.
  prettier,
  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { '@stylistic': stylistic },
    rules: {
      // Prettier wraps code at printWidth 140 but not comments: those must wrap by hand.
      '@stylistic/max-len': [
        'error',
        {
          code: 140,
          tabWidth: 2,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
);
