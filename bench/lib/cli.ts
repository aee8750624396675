import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The command line of a bench: its options (parsed with node:util parseArgs), the command as it is
 * quoted in the reports (so a report says how to reproduce it), and the checks of numeric values.
 */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses the bench's options and returns them with the command line the reports quote. */
export function benchCli<const O extends Options>(script: string, options: O) {
  const { values } = parseArgs({ options, strict: true });
  const command = [
    `npx tsc -p bench/tsconfig.json && node dist-bench/bench/${script}.js`,
    ...process.argv.slice(2),
  ].join(' ');
  return { args: values, command };
}

export function fail(message: string): never {
  throw new Error(message);
}

/** A required numeric CLI value in (0, max]. */
export function positive(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}]`);
  return n;
}

/** A required whole CLI value in (0, max] (rounded). */
export function count(name: string, raw: string, max: number): number {
  return Math.round(positive(name, raw, max));
}
