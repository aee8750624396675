/**
 * Binary quantities as devices report them: `8Gi`, `59 Gi`, `512Mi`, `1862Gi`, `1.5Ti`, plain bytes,
 * and the decimal SI suffixes (k, M, G, T). Returns the number of bytes (integer), or undefined.
 */
const UNITS: Record<string, number> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};

const QUANTITY = /^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?i?B?\s*$/;

export function parseQuantity(text: string): bigint | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, number, unit = ''] = match;
  const bytes = Number(number) * UNITS[unit];
  if (!Number.isFinite(bytes) || bytes > Number.MAX_SAFE_INTEGER) return undefined;
  return BigInt(Math.round(bytes));
}

const DISPLAY: [string, number][] = [
  ['Ti', 1024 ** 4],
  ['Gi', 1024 ** 3],
  ['Mi', 1024 ** 2],
  ['Ki', 1024],
];

/** A readable form of a byte count (`16Gi`, `1.5Ti`), for explanations. */
export function formatBytes(bytes: bigint | number): string {
  const n = Number(bytes);
  for (const [unit, size] of DISPLAY) {
    if (n >= size) return `${Math.round((n / size) * 100) / 100}${unit}`;
  }
  return `${n}`;
}
