import { Injectable } from '@nestjs/common';
import { SemanticError } from '../../../common/problem/domain-error.js';
import type { DeviceFacts } from '../../device-capability/device-facts.js';
import { DeviceCapabilityService } from '../../device-capability/device-capability.service.js';
import { ClientsService } from '../../enrollment/clients.service.js';
import { validateParameterValues } from '../packages/parameter-values.js';
import { PackagesService } from '../packages/packages.service.js';
import { DeploymentRepository } from './deployment.repository.js';
import { DeploymentsService } from './deployments.service.js';
import type { DeploymentCreateDto } from './dto/deployment.dto.js';
import type { DeploymentPreviewDto, PreviewSampleDto } from './dto/deployment-preview.dto.js';
import { decidePlacement, type DecisionInput, type Selector, type TargetKey } from './placement/decision.js';

/** Candidates decided per preview: beyond this the answer says it was sampled. */
export const PREVIEW_MAX_DEVICES = 5_000;
const PAGE = 1_000;
const SAMPLE = 20;
/** No deployment has this id: a preview counts the load of every existing deployment. */
const NO_DEPLOYMENT = '00000000-0000-0000-0000-000000000000';

/**
 * A deployment's dry run (issue 19, the console's live preview): the same validation as create, the
 * candidates the recomputation fans out to (DeviceCapabilityService.scanDevices: labels and client in
 * SQL), and the pure placement decision for each (placement/decision.ts) against the capacity that
 * existing deployments take. Nothing is written. The work is bounded: the candidates are counted in
 * SQL and at most PREVIEW_MAX_DEVICES of them are decided.
 */
@Injectable()
export class DeploymentPreviewService {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly intent: DeploymentsService,
    private readonly packages: PackagesService,
    private readonly capabilities: DeviceCapabilityService,
    private readonly clients: ClientsService,
  ) {}

  /**
   * `scope`: a scoped principal's labels (issue 17). The preview then covers only devices inside it,
   * exactly as a deployment it creates would: the selector's matchLabels are AND-ed with the scope
   * (a conflicting pair is a 422), and a direct target outside the scope is a 422.
   */
  async preview(input: DeploymentCreateDto, scope?: Record<string, string>): Promise<DeploymentPreviewDto> {
    const { pkg } = await this.packages.resolve(input.applicationId, input.version);
    const errors = [
      ...this.intent.checkProfile(pkg, input.profileId, '/profileId'),
      ...validateParameterValues(pkg, input.parameters ?? {}, { pointerPrefix: '/parameters' }),
    ];
    if (
      input.target.selector &&
      (input.target.clientId !== undefined || input.target.deviceId !== undefined)
    ) {
      throw new SemanticError(
        'A target is either one device ({clientId, deviceId}) or a selector, not both',
        [{ field: '/target', message: 'give clientId and deviceId, or selector' }],
      );
    }
    if (
      !input.target.selector &&
      (input.target.clientId === undefined || input.target.deviceId === undefined)
    ) {
      throw new SemanticError('A target is one device ({clientId, deviceId}) or a selector', [
        { field: '/target', message: 'give clientId and deviceId, or selector' },
      ]);
    }
    let selector: Selector | null = null;
    if (input.target.selector) {
      const read = await this.intent.readSelector(input.target.selector, '/target/selector', scope);
      errors.push(...read.errors);
      selector = read.selector;
    }
    if (errors.length > 0) {
      throw new SemanticError(`The deployment is invalid: ${errors[0].field} ${errors[0].message}`, errors);
    }

    let keys: TargetKey[];
    let candidates: number;
    if (selector) {
      candidates = await this.capabilities.countDevices(selector.matchLabels ?? {}, selector.clientId);
      keys = await this.candidates(selector);
    } else {
      const client = await this.clients.resolveRef(input.target.clientId!, input.target.profile, scope);
      keys = [{ clientId: client.id, deviceId: input.target.deviceId! }];
      if (scope !== undefined && !(await this.capabilities.isInScope(client.id, keys[0].deviceId, scope))) {
        throw new SemanticError("The target device is outside the caller's scope", [
          { field: '/target/deviceId', message: 'is not a device inside the scope of the caller' },
        ]);
      }
      candidates = 1;
    }

    const deployment: DecisionInput['deployment'] = {
      // stored as JSON; decidePlacement reads it back as a Selector
      selector: selector as unknown as DecisionInput['deployment']['selector'],
      targetClientId: selector ? null : keys[0].clientId,
      targetDeviceId: selector ? null : keys[0].deviceId,
      profileId: input.profileId ?? null,
      onCapabilityLoss: input.onCapabilityLoss ?? 'keep',
    };
    const [facts, loads, refs] = await Promise.all([
      this.facts(keys),
      this.deployments.loadsOn(keys, NO_DEPLOYMENT),
      this.clients.findRefs([...new Set(keys.map((k) => k.clientId))]),
    ]);
    let matched = 0;
    let placeable = 0;
    const reasons = new Map<string, number>();
    const placed: PreviewSampleDto[] = [];
    const refused: PreviewSampleDto[] = [];
    for (const key of keys) {
      const k = `${key.clientId}|${key.deviceId}`;
      const client = refs.get(key.clientId);
      const decision = decidePlacement({
        deployment,
        profiles: pkg.profiles,
        key,
        clientKnown: !!client,
        facts: facts.get(k),
        existing: undefined,
        load: loads.get(k),
      });
      if (decision.kind === 'skip') continue;
      matched++;
      const external = { clientId: client?.externalId ?? '', deviceId: key.deviceId };
      if (decision.kind === 'place') {
        placeable++;
        if (placed.length < SAMPLE) {
          placed.push({ ...external, placeable: true, reason: `profile ${decision.profileId}` });
        }
        continue;
      }
      for (const reason of decision.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      if (refused.length < SAMPLE) {
        refused.push({ ...external, placeable: false, reason: decision.reasons[0] ?? decision.placement });
      }
    }
    return {
      matched,
      placeable,
      notPlaceable: matched - placeable,
      reasons: [...reasons.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([reason, count]) => ({ reason, count })),
      sample: [...refused, ...placed].slice(0, SAMPLE),
      candidates,
      decided: keys.length,
      sampled: candidates > keys.length,
    };
  }

  /** The first PREVIEW_MAX_DEVICES devices the selector's labels and client select, in id order. */
  private async candidates(selector: Selector): Promise<TargetKey[]> {
    const keys: TargetKey[] = [];
    let after: string | undefined;
    while (keys.length < PREVIEW_MAX_DEVICES) {
      const page = await this.capabilities.scanDevices(
        selector.matchLabels ?? {},
        selector.clientId,
        after,
        Math.min(PAGE, PREVIEW_MAX_DEVICES - keys.length),
      );
      keys.push(...page.map((d) => ({ clientId: d.clientId, deviceId: d.deviceId })));
      if (page.length < PAGE) break;
      after = page[page.length - 1].id;
    }
    return keys;
  }

  private async facts(keys: TargetKey[]): Promise<Map<string, DeviceFacts>> {
    const found = new Map<string, DeviceFacts>();
    for (let i = 0; i < keys.length; i += PAGE) {
      for (const f of await this.capabilities.facts(keys.slice(i, i + PAGE))) {
        found.set(`${f.clientId}|${f.deviceId}`, f);
      }
    }
    return found;
  }
}
