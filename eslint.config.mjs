// Lint for every project (an inferred `lint` target through @nx/eslint/plugin). Its main job is the dependency rules:
// domain libs import only domain libs, the pipeline only domain libs, apps only libs, and nothing but tests, benchmarks
// and the demo imports the test peers or tools/. Libraries never import Nx.
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

const sourceConstraints = [
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: ['nx', 'nx/*', '@nx/*'] },
  { sourceTag: 'type:pipeline', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: ['nx', 'nx/*', '@nx/*'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:pipeline'], bannedExternalImports: ['@nx/*'] },
  { sourceTag: 'type:test-peers', onlyDependOnLibsWithTags: [], bannedExternalImports: ['nx', 'nx/*', '@nx/*'] },
  { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['type:domain', 'type:pipeline', 'type:test-peers', 'type:app'] },
];
// Tests may also start the loopback peers (and an app's tests another app, e.g. the nx-cache server in the alloy e2e).
const testConstraints = sourceConstraints.map((c) =>
  c.sourceTag === 'type:test-peers'
    ? c
    : { ...c, onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'type:test-peers', 'type:app'])] },
);
// The executors are what the steps run: only the pipeline and domain libs, the projects whose `stepSources` the step
// targets hash (`^stepSources`; test peers and apps declare none).
const executorConstraints = sourceConstraints.map((c) =>
  c.sourceTag === 'type:tooling' ? { ...c, onlyDependOnLibsWithTags: ['type:domain', 'type:pipeline'] } : c,
);
const boundaries = (depConstraints, allow = []) => ['error', { enforceBuildableLibDependency: false, allow, depConstraints }];
const testFiles = ['**/*.test.ts', '**/test/**/*.ts'];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '.cache/**', '**/coverage/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.js', '**/*.cjs', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(sourceConstraints),
      // Dependency checks are Nx's job (project graph), not this rule's: package.json files list only workspace deps.
      '@nx/dependency-checks': 'off',
      // The codebase uses `!` where a lookup is known to succeed and `any` only at untyped library seams.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      // Tests and parsers match literal spacing and control characters on purpose.
      'no-regex-spaces': 'off',
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  { files: ['tools/src/executors/**/*.ts'], rules: { '@nx/enforce-module-boundaries': boundaries(executorConstraints) } },
  { files: testFiles, rules: { '@nx/enforce-module-boundaries': boundaries(testConstraints, ['@alloy-sysext/nx-cache']) } },
  // Each project's jest config spreads the shared preset from the workspace root.
  { files: ['**/jest.config.cjs'], rules: { '@nx/enforce-module-boundaries': 'off' } },
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  prettier,
];
