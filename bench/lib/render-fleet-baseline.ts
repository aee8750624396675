import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

/**
 * Child process: the roll-out benchmark's baseline, a minimal hand-written roll-out with plain `pg` (no
 * NestJS, no Prisma, no queue). On one connection to the bench database it reads the devices whose labels
 * contain the selector's, keyset-paged by id like the service's selector scan; per device it fills a YAML
 * template of the service's own rendering with a fresh UUID and the device id and takes the sha256; it
 * writes one row per device (`baseline_target`), then one manifest per client of the same JSON shape as
 * the service's (`baseline_manifest`, its sha256 as ETag). Writes go in batches of 1,000 unnest inserts,
 * one transaction per batch. The scratch tables are created before the clock starts and dropped after it
 * stops. Answers the parent with the wall time from the first read to the last commit and the CPU of this
 * process and of its Postgres backend (from /proc) over the same span.
 */
export interface BaselineJob {
  type: 'run';
  databaseUrl: string;
  matchLabels: Record<string, string>;
  /** A rendering of the service with `{{id}}` and `{{deviceId}}` where the target id and device id go. */
  yamlTemplate: string;
}

export interface BaselineResult {
  type: 'done';
  devices: number;
  clients: number;
  seconds: number;
  cpuMs: number;
  postgresCpuMs: number;
  /** Transactions this baseline committed in the timed span (scan pages and write batches). */
  transactions: number;
  /** Average size of a rendered YAML document and of a manifest body, in bytes. */
  yamlBytes: number;
  manifestBytes: number;
}

export type BaselineMessage = BaselineResult | { type: 'failed'; message: string };

const PAGE = 5_000;
const BATCH = 1_000;
const CLOCK_TICKS_PER_S = 100;

interface DeviceKey {
  id: string;
  client_id: string;
  device_id: string;
}

interface Target {
  id: string;
  digest: string;
  sizeBytes: number;
}

/** User + system CPU time of a process so far, in ms (`self` for this one; NaN when unreadable). */
function cpuMs(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name (which may contain spaces) start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/** The manifest body in the service's shape (keys in RFC 8785 order); no bundle is built, its digest stands in. */
function manifestBody(targets: Target[]): Buffer {
  const bundleDigest = sha256(Buffer.from(targets.map((t) => t.digest).join('\n')));
  return Buffer.from(
    JSON.stringify({
      bundle: {
        digest: bundleDigest,
        mediaType: 'application/vnd.margo.bundle.v1+tar+gzip',
        sizeBytes: targets.reduce((n, t) => n + t.sizeBytes, 0),
        url: `/api/v1/bundles/${bundleDigest}`,
      },
      deployments: targets.map((t) => ({
        deploymentId: t.id,
        digest: t.digest,
        sizeBytes: t.sizeBytes,
        url: `/api/v1/deployments/${t.id}/${t.digest}`,
      })),
      manifestVersion: 1,
    }),
  );
}

async function rollOut(db: pg.Client, job: BaselineJob): Promise<BaselineResult> {
  const render = (id: string, deviceId: string) =>
    job.yamlTemplate.replaceAll('{{id}}', id).replaceAll('{{deviceId}}', deviceId);
  const transaction = async (sql: string, values: unknown[]) => {
    await db.query('BEGIN');
    await db.query(sql, values);
    await db.query('COMMIT');
  };
  const backend = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const cpu0 = { own: cpuMs('self'), postgres: cpuMs(backend) };
  const t0 = performance.now();

  const byClient = new Map<string, Target[]>();
  let transactions = 0;
  let devices = 0;
  let yamlBytes = 0;
  let after: string | null = null;
  for (;;) {
    const { rows: page }: { rows: DeviceKey[] } = await db.query<DeviceKey>(
      `SELECT id, client_id, device_id FROM device
        WHERE deleted_at IS NULL AND effective_labels @> $1::jsonb AND ($2::uuid IS NULL OR id > $2::uuid)
        ORDER BY id LIMIT $3`,
      [JSON.stringify(job.matchLabels), after, PAGE],
    );
    transactions += 1;
    for (const batch of chunks(page, BATCH)) {
      const rows = batch.map((d) => {
        const id = randomUUID();
        const bytes = Buffer.from(render(id, d.device_id));
        const target = { id, digest: sha256(bytes), sizeBytes: bytes.length };
        const ofClient = byClient.get(d.client_id);
        if (ofClient) ofClient.push(target);
        else byClient.set(d.client_id, [target]);
        yamlBytes += bytes.length;
        return { ...target, clientId: d.client_id, deviceId: d.device_id, bytes };
      });
      await transaction(
        `INSERT INTO baseline_target (id, client_id, device_id, digest, bytes)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bytea[])`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.clientId),
          rows.map((r) => r.deviceId),
          rows.map((r) => r.digest),
          rows.map((r) => r.bytes),
        ],
      );
      transactions += 1;
    }
    devices += page.length;
    if (page.length < PAGE) break;
    after = page[page.length - 1].id;
  }

  let manifestBytes = 0;
  for (const batch of chunks([...byClient], BATCH)) {
    const bodies = batch.map(([, targets]) => manifestBody(targets));
    manifestBytes += bodies.reduce((n, b) => n + b.length, 0);
    await transaction(
      `INSERT INTO baseline_manifest (client_id, version, body, etag)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::text[])`,
      [batch.map(([clientId]) => clientId), batch.map(() => 1), bodies, bodies.map((b) => sha256(b))],
    );
    transactions += 1;
  }

  const seconds = (performance.now() - t0) / 1000;
  return {
    type: 'done',
    devices,
    clients: byClient.size,
    seconds,
    cpuMs: cpuMs('self') - cpu0.own,
    postgresCpuMs: cpuMs(backend) - cpu0.postgres,
    transactions,
    yamlBytes: yamlBytes / Math.max(1, devices),
    manifestBytes: manifestBytes / Math.max(1, byClient.size),
  };
}

async function main(job: BaselineJob): Promise<BaselineResult> {
  const db = new pg.Client({ connectionString: job.databaseUrl, application_name: 'wfm-bench-baseline' });
  await db.connect();
  try {
    await db.query(`CREATE TABLE baseline_target (id uuid PRIMARY KEY, client_id uuid NOT NULL,
                      device_id text NOT NULL, digest text NOT NULL, bytes bytea NOT NULL)`);
    await db.query(`CREATE TABLE baseline_manifest (client_id uuid PRIMARY KEY, version bigint NOT NULL,
                      body bytea NOT NULL, etag text NOT NULL)`);
    const result = await rollOut(db, job);
    await db.query('DROP TABLE baseline_target, baseline_manifest');
    return result;
  } finally {
    await db.end();
  }
}

const orphaned = () => process.exit(1);
const reply = (message: BaselineMessage) => {
  process.off('disconnect', orphaned);
  process.send!(message, () => process.exit(message.type === 'done' ? 0 : 1));
};
process.once('disconnect', orphaned);
process.once('message', (job: BaselineJob) => {
  main(job).then(reply, (error: unknown) =>
    reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
