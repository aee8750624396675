import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------------
// The seams between folders (docs/architecture.md), checked by import-x/no-restricted-paths on the
// resolved files, and import-x/no-cycle for cycles between files.
// ---------------------------------------------------------------------------------------------------
const SRC = `${import.meta.dirname}/src`;
const MODULES = `${SRC}/modules`;

/**
 * The feature modules in dependency order: a module may import only modules of earlier layers, so
 * no cycle between modules can form. A new module folder must be placed here (the config refuses
 * to load otherwise).
 */
const MODULE_LAYERS = [
  ['enrollment'],
  ['device-capability', 'events', 'audit'],
  ['deployment-spec'],
  ['status'],
];

/**
 * What a module offers the others; every other file of a module (repositories, controllers,
 * processors, mappers, adapters, caches, metrics, …) is internal to it.
 */
const MODULE_SURFACE = [
  '*.module.ts', // the Nest module, to import
  '*.service.ts', // the services it exports
  '*.errors.ts',
  '*.port.ts', // interfaces (and their injection tokens) it asks others to implement
  'dto/*.ts',
  'auth/guards.ts', // enrollment: route guards and the principal they put on the request
  'auth/authenticated-client.ts',
  'quantity.ts', // device-capability: pure parsers that the package validator shares
  'capabilities.parser.ts',
  'device-facts.ts', // device-capability: what placement reads about a device (a type)
  'deployment-rows.ts', // deployment-spec: the deployment and target shapes the status view reads (types)
];

const moduleNames = readdirSync(MODULES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const layered = MODULE_LAYERS.flat();
for (const name of moduleNames) {
  if (!layered.includes(name))
    throw new Error(`eslint.config.mjs: place src/modules/${name} in MODULE_LAYERS`);
}

/** One file as a glob (the rule wants globs throughout a zone once `from` has one): `@(ts)` is just `ts`. */
const file = (path) => path.replace(/\.ts$/, '.@(ts)');
const others = (name) => `${MODULES}/!(${name})/**`;
const surfaceOf = (pattern) => MODULE_SURFACE.map((name) => `${MODULES}/${pattern}/**/${name}`);

const boundaryZones = [
  {
    target: `${SRC}/infra/**`,
    from: [`${MODULES}/**`],
    message: 'src/infra is below every feature module: it imports none (feature code goes in src/modules).',
  },
  {
    target: [`${SRC}/common/**`, `${SRC}/config/**`],
    from: [`${MODULES}/**`, `${SRC}/infra/**`, file(`${SRC}/app.module.ts`)],
    message: 'src/common and src/config are shared by everything: they import no module and no infra.',
  },
  ...MODULE_LAYERS.flatMap((layer, index) =>
    layer
      .map((name) => ({
        name,
        later: [...MODULE_LAYERS.slice(index + 1).flat(), ...layer.filter((other) => other !== name)],
      }))
      .filter(({ later }) => later.length > 0)
      .map(({ name, later }) => ({
        target: `${MODULES}/${name}/**`,
        from: later.map((other) => `${MODULES}/${other}/**`),
        message: `Feature modules depend downwards only (MODULE_LAYERS in eslint.config.mjs): ${name} may not import this module.`,
      })),
  ),
  ...moduleNames.map((name) => ({
    target: `${MODULES}/${name}/**`,
    from: [others(name)],
    except: surfaceOf(`!(${name})`),
    message: `Another module's internals: import its module, exported services, ports, errors or DTOs instead (MODULE_SURFACE in eslint.config.mjs).`,
  })),
];

/** The server (everything but the tools in bin, cli, simulator, conformance) does not use the device client library. */
const serverZone = {
  target: [
    `${SRC}/modules/**`,
    `${SRC}/infra/**`,
    `${SRC}/common/**`,
    `${SRC}/config/**`,
    `${SRC}/health/**`,
    `${SRC}/*.ts`,
  ],
  from: [`${SRC}/client/**`],
  message:
    'The server does not import the device client library (src/client); share code through src/common.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'src/generated/**', '.data/**', 'coverage/**'] },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    files: ['**/*.ts', 'console/**/*.tsx'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      eqeqeq: 'error',
      curly: ['error', 'multi-line'],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // how import-x parses the files it follows (for no-cycle), and resolves `./x.js` to `./x.ts`
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` }),
      ],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: [...boundaryZones, serverZone] }],
    },
  },
  {
    // unit specs play the device with the client library, beside the code they test
    files: ['src/**/*.spec.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: boundaryZones }] },
  },
  {
    // Vitest's asymmetric matchers (expect.stringContaining …) are typed `any`.
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
