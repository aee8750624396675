import { describe, expect, it } from 'vitest';
import { simulatedCapabilities } from './fleet.js';
import { matchesFailure, parseFailureMatcher } from './failure-matcher.js';

const device = (arch: string, labels: Record<string, string>) =>
  simulatedCapabilities('d', Math.random, labels, {
    cpus: [{ cores: 4, architecture: arch }],
    modelNumber: 'EDGE-4',
    supportedDeploymentTypes: ['helm'],
  });

describe('failure matcher', () => {
  it('matches the device class and reported labels, every pair', () => {
    const arm = device('arm64', { line: 'paint' });
    const amd = device('amd64', { line: 'paint' });
    expect(matchesFailure(parseFailureMatcher('arch=arm64'), arm)).toBe(true);
    expect(matchesFailure(parseFailureMatcher('arch=arm64'), amd)).toBe(false);
    expect(matchesFailure(parseFailureMatcher('line=paint'), amd)).toBe(true);
    expect(matchesFailure(parseFailureMatcher('arch=arm64,line=paint'), arm)).toBe(true);
    expect(matchesFailure(parseFailureMatcher('arch=arm64,line=assembly'), arm)).toBe(false);
    expect(matchesFailure(parseFailureMatcher('vendor=Acme Industrial,model=EDGE-4'), arm)).toBe(true);
    expect(matchesFailure(parseFailureMatcher('type=helm,runtime=oci'), arm)).toBe(true);
    expect(matchesFailure(parseFailureMatcher('type=compose'), arm)).toBe(false);
    expect(matchesFailure(undefined, arm)).toBe(false);
  });

  it('refuses text that is not key=value pairs', () => {
    for (const bad of ['', 'arch', '=x', 'a=b,,c=d']) {
      expect(() => parseFailureMatcher(bad)).toThrow(/key=value/);
    }
  });
});
