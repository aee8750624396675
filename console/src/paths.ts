/** The console's route of a device (its id may contain '/': a gateway hierarchy). */
export function devicePath(clientId: string, deviceId: string): string {
  return `/devices/${encodeURIComponent(clientId)}/${encodeURIComponent(deviceId)}`;
}

/** A deployment's target as one line: `device c/d` or `selector line=paint, client c`. */
export function targetText(target: unknown): string {
  const t = (target ?? {}) as {
    clientId?: string;
    deviceId?: string;
    selector?: {
      matchLabels?: Record<string, unknown>;
      clientId?: string;
      labelSelector?: unknown;
      propertySelector?: unknown;
    };
  };
  if (!t.selector) return `device ${t.clientId}/${t.deviceId}`;
  const parts = Object.entries(t.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  if (t.selector.labelSelector) parts.push('label expressions');
  if (t.selector.propertySelector) parts.push('property expressions');
  if (t.selector.clientId) parts.push(`client ${t.selector.clientId}`);
  return `selector ${parts.join(', ') || '(all devices)'}`;
}

/** `a=1, b=x` into matchLabels; numbers and booleans keep their type. */
export function parseLabels(text: string): Record<string, string | number | boolean> {
  const labels: Record<string, string | number | boolean> = {};
  for (const part of text.split(',')) {
    const [key, ...rest] = part.split('=');
    if (!key?.trim() || rest.length === 0) continue;
    const raw = rest.join('=').trim();
    labels[key.trim()] =
      raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return labels;
}
