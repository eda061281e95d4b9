// Unit tests of the panel's pure logic (js/src modules without Lab imports): `jlpm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['js/test/**/*.test.ts'],
    environment: 'node'
  }
});
