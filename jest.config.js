/** Tests run the TypeScript sources through swc; `tsc --noEmit` does the type check. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(ts|js|mjs)$': ['@swc/jest'] },
  // got and p-limit are ESM-only: let swc transform them too.
  transformIgnorePatterns: [],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/var/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/var/'],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/globalSetup.js',
  maxWorkers: 2,
};
