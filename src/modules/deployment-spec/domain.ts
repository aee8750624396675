/**
 * The deployment-spec module's domain types, shared by its pure parts (package validation,
 * placement, rendering) and its services. Plain data: no Prisma, no HTTP.
 */

/** A JSON value as found in YAML/JSON documents. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type ProfileType = 'helm' | 'compose' | 'custom';

export interface ParameterTarget {
  pointer: string;
  components: string[];
}

export interface PackageParameter {
  /** Default value from the package (undefined when the package gives none). */
  value?: JsonValue;
  targets: ParameterTarget[];
}

/** One validation rule of `configuration.schema` (spec §2.6). */
export interface SchemaRule {
  name: string;
  dataType: 'string' | 'integer' | 'double' | 'boolean' | 'array';
  allowEmpty?: boolean;
  minLength?: number;
  maxLength?: number;
  regexMatch?: string;
  minValue?: number;
  maxValue?: number;
  minPrecision?: number;
  maxPrecision?: number;
  multiselect?: boolean;
  options?: JsonValue[];
}

export interface PackageSetting {
  parameter: string;
  name: string;
  description?: string;
  immutable: boolean;
  /** Name of a SchemaRule. */
  schema: string;
  /** The section it is listed in. */
  section: string;
}

/** Capacity a profile needs on ONE device (from deviceConstraints.capacityRequirements or older requiredResources). */
export interface CapacityRequirements {
  /** Cores needed in a single `cpus` entry. */
  cores?: number;
  /** The entry's architecture must be one of these (normalised: amd64, arm64, arm). */
  architectures?: string[];
  memoryBytes?: bigint;
  memoryText?: string;
  storageBytes?: bigint;
  storageText?: string;
  /** Older requiredResources only. */
  peripherals: { type: string; manufacturer?: string; model?: string }[];
  interfaces: string[];
}

export type MatchOperator =
  'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt' | 'ContainsAll' | 'ContainsAny';

export interface MatchExpression {
  /** propertySelector: RFC 6901 pointer relative to `properties` (e.g. `/vendor`); labelSelector: exact label key. */
  key: string;
  operator: MatchOperator;
  values?: JsonValue[];
  /** ContainsAll / ContainsAny over an array of objects: element-relative expressions. */
  itemSelector?: { matchExpressions: MatchExpression[] };
}

/** Rules are OR-combined; inside a rule both selectors must hold; expressions are AND-combined. */
export interface EligibilityRule {
  propertySelector?: { matchExpressions: MatchExpression[] };
  labelSelector?: { matchExpressions: MatchExpression[] };
}

export interface DeploymentProfile {
  id: string;
  type: ProfileType;
  description?: string;
  /** Components exactly as in the package (name, properties, extensions), copied verbatim when rendering. */
  components: { [key: string]: JsonValue }[];
  componentNames: string[];
  requirements: CapacityRequirements;
  eligibilityRules: EligibilityRule[];
  /** `deviceConstraints` exactly as in the package (copied verbatim when rendering), if any. */
  deviceConstraints?: JsonValue;
  /** `x-<name>-extensions` of the profile, verbatim. */
  extensions: { [key: string]: JsonValue };
}

/** A validated ApplicationDescription (margo.yaml). */
export interface ApplicationPackage {
  /** Top-level `id` (newest) or `metadata.id` (older examples): ^[a-z0-9-]{1,200}$ */
  applicationId: string;
  version: string;
  name: string;
  description?: string;
  profiles: DeploymentProfile[];
  parameters: Record<string, PackageParameter>;
  settings: PackageSetting[];
  schema: SchemaRule[];
  /** Top-level `x-<name>-extensions`, verbatim. */
  extensions: { [key: string]: JsonValue };
}

/** What placement needs to know about a device (from the device-capability module). */
export interface DeviceFacts {
  clientId: string;
  deviceId: string;
  hosting: boolean;
  cpus: { cores: number; architecture: string | null }[];
  memoryBytes: bigint | null;
  memoryText: string | null;
  storageBytes: bigint | null;
  storageText: string | null;
  peripherals: { type: string; manufacturer?: string; model?: string }[];
  interfaceTypes: string[];
  deploymentTypes: string[];
  labels: { [key: string]: JsonValue };
  /** The reported `properties` object (for propertySelector pointers). */
  properties: { [key: string]: JsonValue };
}

/** Capacity already taken on a device by other placed deployments (co-location). */
export interface DeviceLoad {
  cores: number;
  memoryBytes: bigint;
  storageBytes: bigint;
}

export type PlacementResult =
  { placeable: true; profileId: string; reasons: string[] } | { placeable: false; reasons: string[] };

/** Input of one rendered ApplicationDeployment (one per placed (deployment, client, device)). */
export interface RenderInput {
  /** The target's own UUID (stable across content changes, D17). */
  id: string;
  applicationId: string;
  name: string;
  namespace: string;
  /** `gw/child`, or `gw/*` for autonomous placement by the gateway. */
  deviceId: string;
  profile: DeploymentProfile;
  /** Effective parameter values (package default < deployment < device override), with the package's targets. */
  parameters: Record<string, { value: JsonValue; targets: ParameterTarget[] }>;
  /** The package's top-level extensions (copied under `spec`). */
  extensions: { [key: string]: JsonValue };
  /** Legacy-profile clients also get apiVersion, kind and metadata.annotations.{id, applicationId}. */
  legacy: boolean;
}
