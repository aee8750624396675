import { setTimeout as sleep } from 'node:timers/promises';
import { request, type RawResponse } from '../client/transport.js';

/**
 * Operator actions a scenario assumes were done by hand ("PRECONDITION: an operator must assign …").
 * With an operator token the runner does them itself through the operator API, right before the
 * step that waits for their effect; without one it leaves them to the operator, as upstream does.
 */
export interface PreconditionContext {
  baseUrl: string;
  ca?: string;
  adminToken: string;
  /** The scenario's rc.3 client (its SVID's client id). */
  clientId: string;
}

export interface Precondition {
  /** The step before which it runs. */
  beforeStep: string;
  /** One line for the report. */
  summary: string;
  run(context: PreconditionContext): Promise<void>;
}

/** The multi-component scenario's device (its step 1 reports this device's capabilities). */
const MULTI_COMPONENT_DEVICE = 'multi-component-test-device';
const MULTI_COMPONENT_APP = 'ctt-multi-component-app';

/**
 * A two-component Compose package, one component `wait: true` and one `wait: false`: the runner's own
 * stand-in for upstream's `fixtures/multi-component-app-deployment.yaml` (not published with the
 * scenario file). Its component names are the ones the scenario's status step reports.
 */
export const MULTI_COMPONENT_PACKAGE = `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
id: ${MULTI_COMPONENT_APP}
metadata:
  name: CTT multi-component
  description: Two Compose components, one waited for and one not (conformance precondition).
  version: "1.0.0"
  catalog:
    organization:
      - name: margo-wfm conformance runner
deploymentProfiles:
  - type: compose
    id: ctt-multi-component-compose
    components:
      - name: wait-true-component
        properties:
          packageLocation: https://downloads.example.com/ctt/wait-true-component.tar.gz
          wait: true
      - name: wait-false-component
        properties:
          packageLocation: https://downloads.example.com/ctt/wait-false-component.tar.gz
          wait: false
`;

export const PRECONDITIONS: Readonly<Record<string, Precondition>> = {
  'wfm-multi-component-deployment': {
    beforeStep: 'efd8ad9d-1a6f-4b12-bf9d-040f11eddec6',
    summary: `published ${MULTI_COMPONENT_APP} and deployed it to ${MULTI_COMPONENT_DEVICE}`,
    run: async (context) => {
      const published = await operator(context, 'POST', '/operator/v1/applications', {
        type: 'application/yaml',
        body: MULTI_COMPONENT_PACKAGE,
      });
      // 409: published by an earlier run against the same WFM; the same package serves again.
      expectStatus(published, [201, 409], `publishing ${MULTI_COMPONENT_APP}`);
      const created = await operator(context, 'POST', '/operator/v1/deployments', {
        type: 'application/json',
        body: JSON.stringify({
          applicationId: MULTI_COMPONENT_APP,
          target: { clientId: context.clientId, deviceId: MULTI_COMPONENT_DEVICE },
        }),
      });
      expectStatus(created, [201], `deploying ${MULTI_COMPONENT_APP}`);
      const { id } = created.json<{ id: string }>();
      // Wait (briefly) until the placement reached the client's manifest, so the scenario's poll
      // (every 10 s) finds it at its first request.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await operator(context, 'GET', `/operator/v1/deployments/${encodeURIComponent(id)}`);
        expectStatus(res, [200], `reading deployment ${id}`);
        const targets = res.json<{ targets?: { inManifest?: boolean; placement?: string }[] }>().targets;
        if (targets?.some((t) => t.inManifest === true)) return;
        if (Date.now() >= deadline) {
          throw new Error(`deployment ${id} is not in the client's manifest after 30 s: ${res.text()}`);
        }
        await sleep(200);
      }
    },
  },
};

function operator(
  context: PreconditionContext,
  method: string,
  path: string,
  content?: { type: string; body: string },
): Promise<RawResponse> {
  return request(`${context.baseUrl}${path}`, {
    method,
    ca: context.ca,
    insecure: context.ca === undefined,
    headers: {
      authorization: `Bearer ${context.adminToken}`,
      ...(content === undefined ? {} : { 'content-type': content.type }),
    },
    body: content?.body,
  });
}

function expectStatus(res: RawResponse, statuses: number[], what: string): void {
  if (!statuses.includes(res.status)) {
    throw new Error(`${what}: the operator API answered ${res.status} ${res.text().slice(0, 300)}`);
  }
}
