import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import jest from 'eslint-plugin-jest';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Import restrictions by place. A rule's options do not merge across config objects, so each
// place below lists every restriction that applies to it.
const deepImports = [
  {
    group: ['@governor/*/src', '@governor/*/src/**', '@governor/*/dist', '@governor/*/dist/**'],
    message: 'Import another package by its name (what its index or exports map offers), not its files.',
  },
  {
    regex: '^(\\.\\./)+(packages|services)/',
    message: 'Import another package by its name, not by a relative path into its folder.',
  },
];
const cloudSdks = {
  group: ['@google-cloud/*'],
  message: 'The Google Cloud SDKs belong in packages/adapters-gcp; use its adapters.',
};
const kafkajs = { name: 'kafkajs', message: 'kafkajs belongs in packages/adapters-kafka; use its adapters.' };
const restrictedImports = ({ gcp = false, kafka = false, timers = false } = {}) => [
  'error',
  {
    paths: [
      ...(kafka ? [] : [kafkajs]),
      ...(timers
        ? ['timers', 'timers/promises', 'node:timers', 'node:timers/promises'].map((name) => ({
            name,
            message: 'The core waits on the injected Clock, so its tests run on simulated time.',
          }))
        : []),
    ],
    patterns: [...deepImports, ...(gcp ? [] : [cloudSdks])],
  },
];

const useTheClock =
  'The core takes time from the injected Clock (ports/clock.ts), so its tests run on simulated time.';

const testFiles = ['**/__tests__/**/*.ts', 'test/**/*.ts'];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.local/**',
      '.governor/**',
      'coverage/**',
      'reports/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    plugins: { 'import-x': importX },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })],
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Workspace packages resolve to their built dist: cycles across packages are already
      // impossible (tsc project references), so the cycle check stays inside each package.
      'import-x/external-module-folders': ['node_modules', 'dist'],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A `default:` is a decision about the cases not listed; a switch without one must list them all.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of an enum.' },
      ],
      'no-restricted-imports': restrictedImports(),
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-relative-packages': 'error',
    },
  },
  {
    files: ['packages/adapters-gcp/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports({ gcp: true }) },
  },
  {
    files: ['packages/adapters-kafka/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports({ kafka: true }) },
  },
  {
    // Integration tests, their support and the benches drive the emulators and brokers directly.
    files: ['test/integration/**/*.ts', 'test/support/**/*.ts', 'test/bench/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports({ gcp: true, kafka: true }) },
  },
  {
    files: ['packages/governor/src/**/*.ts'],
    ignores: ['packages/governor/src/clock.ts', '**/__tests__/**'],
    rules: {
      'no-restricted-imports': restrictedImports({ timers: true }),
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: useTheClock },
        { object: 'globalThis', property: 'setTimeout', message: useTheClock },
        { object: 'globalThis', property: 'setInterval', message: useTheClock },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: useTheClock },
        { name: 'setInterval', message: useTheClock },
      ],
    },
  },
  {
    files: testFiles,
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      // Helpers named expect… (expectEnvelope, expectChainVerifies) assert.
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*'] }],
      // A check in a set-up hook fails the tests that depend on it, which is what it is for.
      'jest/no-standalone-expect': ['error', { additionalTestBlockFunctions: ['beforeAll', 'beforeEach'] }],
      // Off: property-based and model-based tests assert per generated case, inside its branch.
      'jest/no-conditional-expect': 'off',
    },
  },
  {
    // Tests may use jest's loosely typed matchers.
    files: testFiles,
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
