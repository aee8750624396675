import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('yields retry, comments and messages, across chunk boundaries', () => {
    const parser = new SseParser();
    const text =
      'retry: 3000\n\nid: 7\nevent: client.enrolled\ndata: {"id":"7"}\n\n: keep-alive\n\n: live\n\nid: 8\r\ndata: a\r\ndata: b\r\n\r\n';
    const items = [...text].flatMap((ch) => parser.feed(ch));
    expect(items).toEqual([
      { kind: 'retry', ms: 3000 },
      { kind: 'message', id: '7', event: 'client.enrolled', data: '{"id":"7"}' },
      { kind: 'comment', text: 'keep-alive' },
      { kind: 'comment', text: 'live' },
      { kind: 'message', id: '8', data: 'a\nb' },
    ]);
  });

  it('keeps an unfinished message until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.feed('id: 1\ndata: x\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{ kind: 'message', id: '1', data: 'x' }]);
  });
});
