import { formatBytes } from '../../../device-capability/quantity.js';
import type { CapacityRequirements, DeploymentProfile } from '../../packages/domain.js';
import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import { evaluateRules, type MatchOutcome } from './eligibility.js';

/** Capacity already taken on a device by other placed deployments (co-location). */
export interface DeviceLoad {
  cores: number;
  memoryBytes: bigint;
  storageBytes: bigint;
}

export type PlacementResult =
  { placeable: true; profileId: string; reasons: string[] } | { placeable: false; reasons: string[] };

/**
 * Placement of a package's deployment profiles on one device (spec §2.6 transformation recipe step 1,
 * decisions D5/D18). Pure. A profile is checked in stages and the first failing stage is reported:
 *
 * 1. the device hosts workloads;
 * 2. the profile type is one of the device's deployment types;
 * 3. capacity (every failing item is reported): one single `cpus` entry with enough cores and an accepted
 *    architecture (entries are never summed; an entry without architecture only counts when the profile
 *    names none), memory, storage, required peripherals (type, plus manufacturer/model when given, exact
 *    match; each requirement needs one matching device peripheral) and interfaces;
 * 4. eligibility rules (evaluated only for a device with enough capacity, as the SUP requires);
 * 5. co-location: what is already placed (`load`, which must not include the deployment being placed)
 *    plus this profile must fit the device: cores against the sum of all `cpus` entries, memory and
 *    storage against the reported totals. Only the dimensions the profile asks for are checked, so a
 *    profile without requirements never fails here.
 *
 * Reason texts name the failed requirement and what the device has, for a plant engineer.
 */

/** Cores are compared in thousandths, so 0.1 + 0.2 fits 0.3. */
const milli = (cores: number): number => Math.round(cores * 1000);

/** `4`, `0.5`, `1.25` (at most three decimals). */
const showCores = (cores: number): string => String(milli(cores) / 1000);

/** `1 core`, `4 cores`, `0.5 cores`. */
const coresText = (cores: number): string => `${showCores(cores)} core${milli(cores) === 1000 ? '' : 's'}`;

const listOrNone = (items: string[]): string => (items.length === 0 ? 'none' : items.join(', '));

const EXACT_UNITS: [string, bigint][] = [
  ['Ti', 1024n ** 4n],
  ['Gi', 1024n ** 3n],
  ['Mi', 1024n ** 2n],
  ['Ki', 1024n],
  ['', 1n],
];

/**
 * Readable sizes for one explanation (`formatBytes`), unless two different values would read the same
 * (8193Mi and 8Gi both round to `8Gi`): then all of them in the largest unit that shows them exactly.
 */
function showSizes(values: bigint[]): string[] {
  const rounded = values.map((v) => formatBytes(v));
  const ambiguous = values.some((a, i) => values.some((b, j) => a !== b && rounded[i] === rounded[j]));
  if (!ambiguous) return rounded;
  const [unit, size] = EXACT_UNITS.find(([, s]) => values.every((v) => v % s === 0n)) ?? ['', 1n];
  return values.map((v) => `${v / size}${unit}`);
}

/** The reason a non-hosting device can take no profile. */
export function notHostingReason(device: DeviceFacts): string {
  return `device ${device.deviceId} does not run workloads itself (it reports no CPUs, memory, storage or deployment types)`;
}

/** `2 cores arm64, 4 cores amd64`; entries without architecture say so. */
function describeCpus(device: DeviceFacts): string {
  if (device.cpus.length === 0) return 'no CPU entries';
  return device.cpus
    .map((c) => `${coresText(c.cores)} ${c.architecture ?? '(architecture not reported)'}`)
    .join(', ');
}

/** The single-CPU-entry rule: one entry must have enough cores and an accepted architecture. */
function checkCpu(req: CapacityRequirements, device: DeviceFacts): string | undefined {
  const archs = req.architectures ?? [];
  if (req.cores === undefined && archs.length === 0) return undefined;
  const fits = device.cpus.some(
    (c) =>
      (req.cores === undefined || milli(c.cores) >= milli(req.cores)) &&
      (archs.length === 0 || (c.architecture !== null && archs.includes(c.architecture))),
  );
  if (fits) return undefined;
  const of = archs.length > 0 ? ` of ${archs.join(' or ')}` : '';
  const need = req.cores === undefined ? `a CPU entry${of}` : `${coresText(req.cores)}${of} in one CPU entry`;
  return `needs ${need}; device has ${describeCpus(device)}`;
}

/** Memory or storage: the device must report at least the required bytes. */
function checkBytes(
  what: 'memory' | 'storage',
  required: bigint | undefined,
  reported: bigint | null,
): string | undefined {
  if (required === undefined) return undefined;
  if (reported === null) return `needs ${formatBytes(required)} ${what}; device reports no ${what}`;
  if (reported >= required) return undefined;
  const [need, has] = showSizes([required, reported]);
  return `needs ${need} ${what}; device has ${has}`;
}

type Peripheral = DeviceFacts['peripherals'][number];

/** `gpu`, `gpu (manufacturer NVIDIA, model A2)`. */
function describePeripheral(p: Peripheral): string {
  const details = [
    ...(p.manufacturer !== undefined ? [`manufacturer ${p.manufacturer}`] : []),
    ...(p.model !== undefined ? [`model ${p.model}`] : []),
  ];
  return details.length === 0 ? p.type : `${p.type} (${details.join(', ')})`;
}

/** Every required peripheral needs a device peripheral of that type (and manufacturer/model when given). */
function checkPeripherals(req: CapacityRequirements, device: DeviceFacts): string[] {
  const has = listOrNone(device.peripherals.map(describePeripheral));
  return req.peripherals
    .filter(
      (r) =>
        !device.peripherals.some(
          (p) =>
            p.type === r.type &&
            (r.manufacturer === undefined || p.manufacturer === r.manufacturer) &&
            (r.model === undefined || p.model === r.model),
        ),
    )
    .map((r) => `needs peripheral ${describePeripheral(r)}; device has ${has}`);
}

/** Every required interface type must be reported. */
function checkInterfaces(req: CapacityRequirements, device: DeviceFacts): string[] {
  const has = listOrNone(device.interfaceTypes);
  return req.interfaces
    .filter((i) => !device.interfaceTypes.includes(i))
    .map((i) => `needs interface ${i}; device has ${has}`);
}

/** Stage 3: all capacity shortfalls of the profile on this device. */
export function checkCapacity(req: CapacityRequirements, device: DeviceFacts): string[] {
  return [
    checkCpu(req, device),
    checkBytes('memory', req.memoryBytes, device.memoryBytes),
    checkBytes('storage', req.storageBytes, device.storageBytes),
    ...checkPeripherals(req, device),
    ...checkInterfaces(req, device),
  ].filter((r): r is string => r !== undefined);
}

/** Stage 5: already placed + this profile must fit what the device reports. */
export function checkCoLocation(req: CapacityRequirements, device: DeviceFacts, load: DeviceLoad): string[] {
  const reasons: string[] = [];
  if (req.cores !== undefined) {
    const total = device.cpus.reduce((sum, c) => sum + milli(c.cores), 0);
    if (milli(load.cores) + milli(req.cores) > total) {
      reasons.push(
        `co-location: ${showCores(load.cores)} cores already placed + ${showCores(req.cores)} needed > ${total / 1000} reported`,
      );
    }
  }
  const bytes = (what: string, need: bigint | undefined, used: bigint, reported: bigint | null) => {
    if (need === undefined || reported === null || used + need <= reported) return;
    const [u, n, r] = showSizes([used, need, reported]);
    reasons.push(`co-location: ${u} ${what} already placed + ${n} needed > ${r} reported`);
  };
  bytes('memory', req.memoryBytes, load.memoryBytes, device.memoryBytes);
  bytes('storage', req.storageBytes, load.storageBytes, device.storageBytes);
  return reasons;
}

/** Whether one profile can be placed on the device, with the reasons when it cannot (stages above). */
export function placeProfile(
  profile: DeploymentProfile,
  device: DeviceFacts,
  load: DeviceLoad,
): MatchOutcome {
  const failed = (reasons: string[]): MatchOutcome => ({ ok: false, reasons });
  if (!device.hosting) return failed([notHostingReason(device)]);
  if (!device.deploymentTypes.includes(profile.type)) {
    return failed([
      `needs deployment type ${profile.type}; device supports ${listOrNone(device.deploymentTypes)}`,
    ]);
  }
  const capacity = checkCapacity(profile.requirements, device);
  if (capacity.length > 0) return failed(capacity);
  const eligibility = evaluateRules(profile.eligibilityRules, device);
  if (!eligibility.ok) return failed(eligibility.reasons);
  const coLocation = checkCoLocation(profile.requirements, device, load);
  if (coLocation.length > 0) return failed(coLocation);
  return { ok: true, reasons: [] };
}

/**
 * Chooses the profile for a device: only `preferredProfileId` when given, otherwise the first profile in
 * package order that fits. Reasons are prefixed `profile "<id>": `; on success they list why earlier
 * profiles were skipped (empty when the first one fits).
 */
export function placePackage(
  profiles: DeploymentProfile[],
  device: DeviceFacts,
  load: DeviceLoad,
  preferredProfileId?: string,
): PlacementResult {
  if (profiles.length === 0) return { placeable: false, reasons: ['the package has no deployment profiles'] };
  if (!device.hosting) return { placeable: false, reasons: [notHostingReason(device)] };
  let candidates = profiles;
  if (preferredProfileId !== undefined) {
    candidates = profiles.filter((p) => p.id === preferredProfileId);
    if (candidates.length === 0) {
      const known = profiles.map((p) => `"${p.id}"`).join(', ');
      return {
        placeable: false,
        reasons: [`profile "${preferredProfileId}" is not in the package (its profiles: ${known})`],
      };
    }
  }
  const reasons: string[] = [];
  for (const profile of candidates) {
    const outcome = placeProfile(profile, device, load);
    if (outcome.ok) return { placeable: true, profileId: profile.id, reasons };
    reasons.push(...outcome.reasons.map((r) => `profile "${profile.id}": ${r}`));
  }
  return { placeable: false, reasons };
}
