import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'dist/**', 'data/**', 'bench/results/**', 'coverage/**', '.tmp/**', 'tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['bin/**/*.mjs', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The protocol core is runtime-free: it must never reach for AWS or node:http.
    files: ['functions/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['http', 'https', 'http2', 'fs', 'fs/promises', 'net', 'stream', 'crypto', 'path', 'os', 'child_process', 'aws-lambda', 'aws-cdk-lib']
          .map((name) => ({ name, message: 'functions/core is runtime-free: use a port.' })),
        patterns: [
          { group: ['@aws-sdk/*', 'aws-cdk-lib/*', '@aws-lambda-powertools/*'], message: 'functions/core must not depend on AWS.' },
          { group: ['node:*'], message: 'functions/core must not depend on Node runtime modules; use a port.' },
        ],
      }],
    },
  },
);
