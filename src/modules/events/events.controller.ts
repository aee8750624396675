import { Controller, Get, Headers, HttpCode, Post, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiExtension,
  ApiOperation,
  ApiProduces,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import type { Response } from 'express';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import { EventStreamQueryDto, OperatorEventDto, StreamTokenDto } from './dto/operator-event.dto.js';
import { EventStreamGuard } from './event-stream.guard.js';
import { EventStreamService, HEARTBEAT_MS, parseStreamRequest, RETRY_MS } from './event-stream.service.js';
import { EventTokenService, streamCookie, STREAM_TOKEN_TTL_SECONDS } from './event-token.service.js';

const STREAM_DESCRIPTION = [
  'Server-Sent Events. Each message: `id: <event id>`, `event: <type>`, `data: <OperatorEventDto as JSON>`.',
  `The stream starts with \`retry: ${RETRY_MS}\`; a comment line is sent every ${HEARTBEAT_MS / 1000} s.`,
  'Without a resume point only new events are sent; with `Last-Event-ID` (or `?lastEventId=`) every',
  'matching event after it is replayed first (the log keeps at least the last 10,000 events), then',
  'new ones follow, in id order, without gaps or duplicates.',
  'The comment line `: live` marks the end of the replay (sent once, also when nothing was replayed).',
  'Authentication: an operator bearer token (any role), or — for EventSource, which cannot send',
  'headers — a stream token from POST /operator/v1/events/token in `?token=` or the `wfm_sse` cookie.',
  'Credentials are checked when the stream opens; revoking the operator token (or the one a stream',
  'token was obtained with) ends its open streams within a second.',
].join(' ');

@ApiTags('Operator: events')
@ApiExtraModels(OperatorEventDto)
@Controller('operator/v1/events')
export class EventsController {
  constructor(
    private readonly streams: EventStreamService,
    private readonly tokens: EventTokenService,
  ) {}

  @Get()
  @UseGuards(EventStreamGuard)
  @ApiBearerAuth('operator-token')
  @ApiExtension('x-required-role', 'viewer')
  @ApiOperation({
    summary: 'Live operator events (status, placement, manifests, clients)',
    description: STREAM_DESCRIPTION,
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: `An endless text/event-stream; the data of each message is an ${OperatorEventDto.name}`,
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          description: `SSE messages; each data line is an ${getSchemaPath(OperatorEventDto)} as JSON`,
        },
        example:
          'retry: 3000\n\nid: 1042\nevent: status.changed\ndata: {"id":"1042","type":"status.changed","at":"2026-11-27T14:00:00.000Z","clientId":"line-1.plc","deploymentId":"dep-1","data":{"state":"installed"}}\n\n',
      },
    },
  })
  @ApiProblems(400, 401, 422, 503)
  streamEvents(
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentOperator() operator: OperatorPrincipal,
    @Res() res: Response,
  ): Promise<void> {
    const request = parseStreamRequest(query, lastEventId);
    // audit entries (GET /operator/v1/audit is admin-only) reach admin streams only
    if (operator.role !== 'admin') request.filter = { ...request.filter, excludeTypes: ['audit.recorded'] };
    return this.streams.stream(res, {
      ...request,
      ...(operator.tokenId !== undefined ? { tokenId: operator.tokenId } : {}),
      ...(operator.scope !== undefined ? { scope: operator.scope } : {}),
    });
  }

  @Post('token')
  @HttpCode(200)
  @AuditAction('stream-token.issue', 'stream-token')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: `A stream token for EventSource (valid ${STREAM_TOKEN_TTL_SECONDS / 60} minutes to open a stream)`,
    description:
      'Also sets it as the `wfm_sse` cookie (HttpOnly, Secure, SameSite=None, Path=/operator/v1/events), so a UI on another origin can use `new EventSource(url, {withCredentials: true})`.',
  })
  @ApiOkResponse({
    type: StreamTokenDto,
    description: 'The stream token; also set as the wfm_sse cookie',
    headers: { 'Set-Cookie': { description: 'wfm_sse=<token>', schema: { type: 'string' } } },
  })
  async issueStreamToken(
    @CurrentOperator() operator: OperatorPrincipal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StreamTokenDto> {
    const token = await this.tokens.issue(operator);
    res.setHeader('Set-Cookie', streamCookie(token));
    res.setHeader('Cache-Control', 'no-store');
    return { token: token.token, expiresAt: token.expiresAt.toISOString() };
  }
}
