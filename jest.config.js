// @ts-check
/* global module, __dirname */

/**
 * `isolatedModules` makes ts-jest transpile each file on its own (no type-check), which keeps the
 * run fast; `npm run typecheck` is where types are checked. Setting it through the `tsconfig`
 * override instead of the ts-jest option avoids ts-jest's deprecation warning.
 * @type {[string, import('ts-jest').TsJestTransformerOptions]}
 */
const tsJest = ['ts-jest', { tsconfig: { isolatedModules: true } }];

/** @type {import('jest').Config} */
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': tsJest },
  clearMocks: true,
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      // Runs afterAll(killAll) in every e2e file, so a failing test leaves no hub, simulator or
      // redis-server behind. It also applies the timeout: Jest 30 ignores `testTimeout` here.
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
      testTimeout: 120_000,
    },
  ],
};
