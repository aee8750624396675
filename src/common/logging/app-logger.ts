import type { LoggerService } from '@nestjs/common';
import type { LogFormat, LogLevel } from '../../config/config.js';
import { currentRequestId } from './request-context.js';

const ORDER: LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];
const LABEL: Record<LogLevel, string> = {
  error: 'ERROR',
  warn: 'WARN ',
  log: 'INFO ',
  debug: 'DEBUG',
  verbose: 'TRACE',
};

/**
 * JSON lines in production, one readable line per entry in development. Every line carries the
 * current request id when there is one. Messages may be strings or objects (`{ msg, …fields }`).
 */
export class AppLogger implements LoggerService {
  private readonly maxLevel: number;

  constructor(
    private readonly format: LogFormat,
    level: LogLevel,
    private readonly out: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {
    this.maxLevel = ORDER.indexOf(level);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (ORDER.indexOf(level) > this.maxLevel) return;
    // Nest passes the context as the last string argument (and a stack before it for errors).
    const strings = rest.filter((r): r is string => typeof r === 'string');
    const context = strings.length > 0 ? strings[strings.length - 1] : undefined;
    const stack = level === 'error' && strings.length > 1 ? strings[0] : undefined;
    const fields: Record<string, unknown> =
      message && typeof message === 'object' && !(message instanceof Error)
        ? { ...(message as Record<string, unknown>) }
        : { msg: message instanceof Error ? message.message : String(message) };
    const requestId = fields.requestId ?? currentRequestId();
    if (requestId !== undefined) fields.requestId = requestId;
    if (stack) fields.stack = stack;

    if (this.format === 'json') {
      this.out(
        JSON.stringify({
          time: new Date().toISOString(),
          level: LABEL[level].trim().toLowerCase(),
          context,
          ...fields,
        }),
      );
      return;
    }
    const { msg, ...others } = fields;
    const extra = Object.entries(others)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const time = new Date().toISOString().slice(11, 23);
    this.out(
      `${time} ${LABEL[level]} ${context ? `[${context}] ` : ''}${typeof msg === 'string' ? msg : JSON.stringify(msg ?? '')}${extra ? ` ${extra}` : ''}`,
    );
  }
}
