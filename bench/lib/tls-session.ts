/**
 * Reads the session lifetime out of a serialized OpenSSL SSL_SESSION (what `tlsSocket.getSession()`
 * and the 'session' event hand out): a DER SEQUENCE whose optional fields carry context tags —
 * [2] timeout (seconds) and [9] the ticket lifetime hint the server announced. On a client, TLS 1.3
 * sets the timeout from the NewSessionTicket's ticket_lifetime, so either field shows the bound the
 * server put on resumption.
 */
export interface SessionLifetime {
  timeoutSeconds?: number;
  ticketLifetimeHintSeconds?: number;
}

interface Tlv {
  tag: number;
  value: Buffer;
  next: number;
}

function readTlv(buf: Buffer, offset: number): Tlv | undefined {
  if (offset + 2 > buf.length) return undefined;
  const tag = buf[offset];
  let length = buf[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > buf.length) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[start + i];
    start += bytes;
  }
  if (start + length > buf.length) return undefined;
  return { tag, value: buf.subarray(start, start + length), next: start + length };
}

function explicitInteger(value: Buffer): number | undefined {
  const inner = readTlv(value, 0);
  if (!inner || inner.tag !== 0x02 || inner.value.length === 0 || inner.value.length > 6) return undefined;
  let n = 0;
  for (const byte of inner.value) n = n * 256 + byte;
  return n;
}

export function sessionLifetime(session: Buffer): SessionLifetime {
  const outer = readTlv(session, 0);
  if (!outer || outer.tag !== 0x30) return {};
  const result: SessionLifetime = {};
  let offset = 0;
  while (offset < outer.value.length) {
    const field = readTlv(outer.value, offset);
    if (!field) break;
    if (field.tag === 0xa2) result.timeoutSeconds = explicitInteger(field.value);
    if (field.tag === 0xa9) result.ticketLifetimeHintSeconds = explicitInteger(field.value);
    offset = field.next;
  }
  return result;
}
