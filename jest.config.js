// One config, two projects: fast unit tests beside the code, and integration tests that need
// the real local backends (infra/local/backends.sh). TypeScript is transformed by swc; type
// checking is tsc -b's job, so tests start fast.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const common = {
  transform: { '^.+\\.ts$': swc },
  testEnvironment: 'node',
  // zod keeps module-level state; jest's soft global cleanup only produces noise about it.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  // Packages import each other by name; tests run against their sources, no build needed.
  moduleNameMapper: {
    '^@governor/(worker|ingress)$': '<rootDir>/services/$1/src/index.ts',
    '^@governor/([a-z-]+)/testing$': '<rootDir>/packages/$1/src/testing/index.ts',
    '^@governor/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/packages/*/src/**/__tests__/**/*.test.ts',
        '<rootDir>/services/*/src/**/__tests__/**/*.test.ts',
        // Cross-package runbook tests on the in-process adapters: no backend needed.
        '<rootDir>/test/runbooks/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int.test.ts'],
      testTimeout: 60_000,
    },
  ],
};
