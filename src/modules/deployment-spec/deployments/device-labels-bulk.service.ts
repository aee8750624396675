import { Injectable } from '@nestjs/common';
import { SemanticError } from '../../../common/problem/domain-error.js';
import type { OperatorPrincipal } from '../../enrollment/auth/authenticated-client.js';
import { DeviceCapabilityService } from '../../device-capability/device-capability.service.js';
import { DeviceLabelsService, OPERATOR_LABEL_LIMITS } from '../../device-capability/device-labels.service.js';
import { DeploymentsService } from './deployments.service.js';
import type { DeviceLabelsBulkDto, DeviceLabelsBulkResultDto } from './dto/device-labels.dto.js';
import { type Selector, selectorMatches, type TargetKey } from './placement/decision.js';

/** Devices read per page while a selector is evaluated. */
const SCAN_PAGE = 1_000;

/**
 * The bulk operator-label call. It lives here, not in device-capability, because its selector is a
 * deployment selector: checked like one (DeploymentsService) and matched by the placement core's
 * `selectorMatches`, against the same effective labels and properties that placement reads. The
 * change itself is device-capability's (DeviceLabelsService.changeMany).
 */
@Injectable()
export class DeviceLabelsBulkService {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly capabilities: DeviceCapabilityService,
    private readonly labels: DeviceLabelsService,
  ) {}

  async change(body: DeviceLabelsBulkDto, by: OperatorPrincipal): Promise<DeviceLabelsBulkResultDto> {
    const change = this.labels.readBulk(body);
    // a scoped operator's selector is AND-ed with its scope (a conflicting pair is a 422)
    const { errors, selector } = await this.deployments.readSelector(body.selector, '/selector', by.scope);
    errors.push(...change.errors);
    if (errors.length > 0) {
      throw new SemanticError(
        `The bulk label change is invalid: ${errors[0].field} ${errors[0].message}`,
        errors,
      );
    }
    const max = OPERATOR_LABEL_LIMITS.bulkDevices;
    const keys = await this.matching(selector, max + 1);
    if (keys.length > max) {
      throw new SemanticError(
        `The selector matches more than ${max} devices, the most one call changes; narrow it (e.g. by clientId or one more label)`,
        [{ field: '/selector', message: `matches more than ${max} devices` }],
      );
    }
    const changed = await this.labels.changeMany(keys, change.change, by);
    return { matched: keys.length, changed };
  }

  /** Up to `limit` devices the selector matches: the label index narrows, `selectorMatches` decides. */
  private async matching(selector: Selector, limit: number): Promise<TargetKey[]> {
    const found: TargetKey[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.capabilities.scanDevices(
        selector.matchLabels ?? {},
        selector.clientId,
        after,
        SCAN_PAGE,
      );
      for (const facts of await this.capabilities.facts(page)) {
        if (selectorMatches(selector, facts)) {
          found.push({ clientId: facts.clientId, deviceId: facts.deviceId });
        }
        if (found.length >= limit) return found;
      }
      if (page.length < SCAN_PAGE) return found;
      after = page[page.length - 1].id;
    }
  }
}
