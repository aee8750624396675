export { KNOWN_DEVIATIONS, type KnownDeviation } from './deviations.js';
export type { SvidIssuerOption } from './identity.js';
export { MULTI_COMPONENT_PACKAGE, type Precondition, PRECONDITIONS } from './preconditions.js';
export {
  type ConformanceOptions,
  type ConformanceReport,
  DEFAULT_REQUIRED,
  formatResult,
  formatSummary,
  type Outcome,
  runConformance,
  type StepResult,
} from './runner.js';
export {
  DEFAULT_SCENARIO_FILES,
  loadScenarioFile,
  parseScenarios,
  type Scenario,
  ScenarioFormatError,
  type Step,
} from './scenario.js';
