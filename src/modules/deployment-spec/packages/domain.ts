/**
 * A validated application package (ApplicationDescription) and its parts, shared by package
 * validation, placement and rendering. Plain data: no Prisma, no HTTP.
 */
import type { JsonValue } from '../../../common/json-value.js';

export type { JsonValue };

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
