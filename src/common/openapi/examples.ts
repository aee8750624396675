/** Hand-written request examples for the operations a UI uses most (the others are generated). */

export const PACKAGE_YAML_EXAMPLE = `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
id: com-example-line-monitor
metadata:
  name: Line Monitor
  version: '2.1.0'
deploymentProfiles:
  - type: helm
    id: line-monitor-helm
    components:
      - name: line-monitor
        properties:
          repository: oci://registry.example.com/charts/line-monitor
          revision: 2.1.0
parameters:
  sampleRate:
    value: 10
    targets:
      - pointer: collector.sampleRateHz
        components: [line-monitor]
`;

export const DEPLOYMENT_CREATE_EXAMPLES = {
  selector: {
    summary: 'Every device a label selector matches, now and later',
    value: {
      applicationId: 'com-example-line-monitor',
      version: '2.1.0',
      parameters: { siteId: 'DE-001', sampleRate: 20 },
      target: {
        selector: {
          matchLabels: { 'example.com/site': 'plant-7' },
          labelSelector: {
            matchExpressions: [{ key: 'example.com/line', operator: 'In', values: ['paint'] }],
          },
        },
      },
      onCapabilityLoss: 'keep',
    },
  },
  device: {
    summary: 'One device of one client',
    value: {
      applicationId: 'com-example-line-monitor',
      version: '2.1.0',
      parameters: { siteId: 'DE-001' },
      target: { clientId: 'line-a', deviceId: 'press-1' },
    },
  },
  staged: {
    summary: 'Roll out in waves: a diverse canary, then 25 % at a time, each wave gated on health',
    value: {
      applicationId: 'com-example-line-monitor',
      version: '2.1.0',
      parameters: { siteId: 'DE-001' },
      target: { selector: { matchLabels: { 'example.com/site': 'plant-7' } } },
      rollout: {
        waves: [{ canary: 'diverse', count: 3 }, { percent: 25 }, { percent: 25 }],
        successThreshold: 0.95,
        failureThreshold: 0.05,
        waveTimeout: '30m',
        pauseBetweenWaves: '5m',
        approval: 'before-first-wave',
      },
    },
  },
};

export const DEPLOYMENT_PATCH_EXAMPLES = {
  staged: {
    summary: 'A parameter change rolled out in waves (the policy is kept for later changes)',
    value: {
      parameters: { sampleRate: 30 },
      rollout: {
        waves: [{ selector: { matchLabels: { 'example.com/canary': 'true' } } }, { percent: 50 }],
        failureThreshold: 0,
        waveTimeout: '15m',
        approval: 'before-each-wave',
      },
    },
  },
  atOnce: {
    summary: 'Remove the rollout policy: this and later changes reach every target at once',
    value: { parameters: { sampleRate: 30 }, rollout: null },
  },
  parameter: {
    summary: 'Change one parameter; the others stay',
    value: { parameters: { sampleRate: 30 } },
  },
  remove: {
    summary: 'Remove a deployment-level value (the package default applies again)',
    value: { parameters: { greeting: null } },
  },
  version: {
    summary: 'Move to another package version',
    value: { version: '2.2.0' },
  },
};

export const STATUS_REPORT_EXAMPLE = {
  deploymentId: '6b1f3c52-0d2e-4c8a-9a51-2f0f5e6c7d80',
  adoptedManifestVersion: 7,
  status: { state: 'installed' },
  components: [{ name: 'line-monitor', state: 'installed' }],
};

export const CAPABILITIES_EXAMPLE = {
  properties: {
    id: 'press-1',
    vendor: 'Example Devices',
    modelNumber: 'EX-200',
    serialNumber: 'SN-0042',
    cpus: [{ cores: 4, architecture: 'arm64' }],
    memory: '16Gi',
    storage: '256Gi',
    supportedDeploymentTypes: ['helm', 'compose'],
  },
  labels: { 'example.com/line': 'paint' },
};

export const DEVICE_LABELS_PUT_EXAMPLES = {
  canary: {
    summary: "The device's operator labels become exactly these",
    value: { role: 'canary', 'example.com/cell': 3 },
  },
  clear: { summary: 'Remove every operator label', value: {} },
};

export const DEVICE_LABELS_PATCH_EXAMPLES = {
  setAndRemove: {
    summary: 'Set one label, remove another (JSON Merge Patch); the others stay',
    value: { role: 'canary', maintenance: null },
  },
};

export const DEVICE_LABELS_BULK_EXAMPLES = {
  canary: {
    summary: 'Mark the paint-line presses as the canary and drop an old label',
    value: {
      selector: { matchLabels: { line: 'paint' }, clientId: 'line-7' },
      set: { role: 'canary' },
      remove: ['maintenance'],
    },
  },
};
