import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Imports point down: entries (functions/lambda, local, upload-server, dev) → adapters →
 * auth → core. Entries do not import one another, except dev:aws, which runs the Lambda
 * handlers as their stand-in. Nothing shipped or run by users (functions, cli, infra, bin,
 * bench, harness) imports test/. Specifiers are relative, so each rule names the directories
 * a file may not climb into.
 */
const ENTRIES = ['lambda', 'local', 'upload-server', 'dev'];
const TOP = ['test', 'harness', 'bench', 'cli', 'infra', 'bin'];
const climbsInto = (dirs, why) => ({ regex: `^(\\.\\./)+(${dirs.join('|')})(/|$)`, message: why });
const layers = [
  { files: ['functions/core/**/*.ts'], forbidden: ['auth', 'adapters', ...ENTRIES], why: 'functions/core knows nothing of auth, adapters or entry points: use a port.' },
  { files: ['functions/auth/**/*.ts'], forbidden: ['adapters', ...ENTRIES], why: 'functions/auth may import only core: stores and key sources live in adapters, wiring in the entry points.' },
  { files: ['functions/adapters/**/*.ts'], forbidden: ENTRIES, why: 'adapters must not import entry points: move what both need into an adapter.' },
  ...['lambda', 'local', 'upload-server'].map((entry) => ({
    files: [`functions/${entry}/**/*.ts`],
    forbidden: ENTRIES.filter((other) => other !== entry),
    why: 'entry points only wire: share code through adapters, not another entry point.',
  })),
];

/** The protocol core is also runtime-free: no AWS, no node:http, no files. */
const CORE_RUNTIME = {
  paths: ['http', 'https', 'http2', 'fs', 'fs/promises', 'net', 'stream', 'crypto', 'path', 'os', 'child_process', 'aws-lambda', 'aws-cdk-lib']
    .map((name) => ({ name, message: 'functions/core is runtime-free: use a port.' })),
  patterns: [
    { group: ['@aws-sdk/*', 'aws-cdk-lib/*', '@aws-lambda-powertools/*'], message: 'functions/core must not depend on AWS.' },
    { group: ['node:*'], message: 'functions/core must not depend on Node runtime modules; use a port.' },
  ],
};

/** Full zod is ~445 KiB of every Lambda bundle and slows its cold start; functions/ use zod/mini. */
const FULL_ZOD = { name: 'zod', message: 'import { z } from functions/core/validation (zod/mini): full zod adds ~420 KiB to every Lambda bundle.' };

function layerBoundaries() {
  const noTests = climbsInto(['test'], 'production code, the CLI, infra, bench and harness never import tests: move what both need into harness/ or functions/.');
  const outsideFunctions = climbsInto(TOP, 'functions/ must not import tests, tooling, the CLI or infra.');
  return [
    { files: ['cli/**/*.ts', 'infra/**/*.ts', 'bench/**/*.ts', 'harness/**/*.ts', 'bin/**/*.mjs', '*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [noTests] }] } },
    { files: ['functions/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [FULL_ZOD], patterns: [outsideFunctions] }] } },
    ...layers.map(({ files, forbidden, why }) => {
      const runtime = files[0].startsWith('functions/core/') ? CORE_RUNTIME : { paths: [], patterns: [] };
      return {
        files,
        rules: { 'no-restricted-imports': ['error', { paths: [...runtime.paths, FULL_ZOD], patterns: [...runtime.patterns, outsideFunctions, climbsInto(forbidden, why)] }] },
      };
    }),
  ];
}

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
  ...layerBoundaries(),
);
