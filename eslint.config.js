const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'var/**', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    // The command line and the registrations load each job's modules only when that job runs: cron starts these all day.
    files: ['cli/main.ts', 'cli/registry.ts', 'collectors/*/index.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
