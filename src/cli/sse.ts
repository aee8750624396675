/** A pure, incremental parser of `text/event-stream` (the subset the service sends). */

export type SseItem =
  | { kind: 'message'; id?: string; event?: string; data: string }
  | { kind: 'comment'; text: string }
  | { kind: 'retry'; ms: number };

export class SseParser {
  private buffer = '';
  private id: string | undefined;
  private event: string | undefined;
  private data: string[] = [];
  /** The last line ended with a CR at the end of a chunk: a LF starting the next one belongs to it. */
  private afterCr = false;

  /** Feeds a chunk; returns the items completed by it (a message ends at a blank line). */
  feed(chunk: string): SseItem[] {
    this.buffer += chunk;
    const items: SseItem[] = [];
    for (;;) {
      if (this.afterCr && this.buffer !== '') {
        if (this.buffer.startsWith('\n')) this.buffer = this.buffer.slice(1);
        this.afterCr = false;
      }
      const end = this.buffer.search(/\r\n|\r|\n/);
      if (end < 0) return items;
      const line = this.buffer.slice(0, end);
      const crlf = this.buffer.startsWith('\r\n', end);
      this.afterCr = !crlf && this.buffer[end] === '\r';
      this.buffer = this.buffer.slice(end + (crlf ? 2 : 1));
      const item = this.line(line);
      if (item) items.push(item);
    }
  }

  private line(line: string): SseItem | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = undefined;
        return undefined;
      }
      const message: SseItem = {
        kind: 'message',
        ...(this.id !== undefined ? { id: this.id } : {}),
        ...(this.event !== undefined ? { event: this.event } : {}),
        data: this.data.join('\n'),
      };
      this.event = undefined;
      this.data = [];
      return message;
    }
    if (line.startsWith(':')) return { kind: 'comment', text: line.slice(1).trim() };
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) return { kind: 'retry', ms: Number(value) };
    return undefined;
  }
}
