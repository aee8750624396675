import { NotFoundError } from '../../common/problem/domain-error.js';
import { ProblemType } from '../../common/problem/problem-types.js';

export class GatewayNotFoundError extends NotFoundError {
  constructor(deviceId: string, missing: string) {
    super(
      `No gateway was found for the given child-device deviceId: report ${missing} before ${deviceId}`,
      ProblemType.gatewayNotFound,
      'Gateway not found',
    );
  }
}

export class DeviceNotFoundError extends NotFoundError {
  constructor(deviceId: string) {
    super(
      `No device with the given deviceId (${deviceId}) was found for the client`,
      ProblemType.deviceNotFound,
      'Device not found',
    );
  }
}
