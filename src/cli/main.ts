#!/usr/bin/env node
// `margo-wfm`: the operator CLI (login, contexts, get, describe, apply, events, approve/reject).
// Exit codes: 0 ok, 1 error from the service, 2 usage, 3 not found, 4 connection/TLS error,
// 5 `apply --wait` timed out.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import type { OperatorClient, Schemas } from '../api-client/index.js';
import {
  ApplyFileError,
  type DeploymentSpec,
  deploymentLabel,
  isSameDeployment,
  type PackageDocument,
  packageDiff,
  parseApplyFile,
  planDeployment,
} from './apply.js';
import { type CliConfig, configPath, loadConfig, resolveContext, saveConfig } from './config.js';
import { withContext } from './diff.js';
import { eventLine, readEvents } from './events.js';
import { cell, formatTable } from './format.js';
import { type Api, CliError, connect, EXIT, ok } from './http.js';
import { listAll, type Page } from './paging.js';
import { progress, waitForDeployment } from './wait.js';

interface ListOptions {
  selector?: string;
  after?: string;
}

/** The item type of a list answer `{items, next}`. */
type ItemOf<D> = D extends { items: readonly (infer I)[] } ? I : never;

interface Resource {
  selector: boolean;
  fetchPage(client: OperatorClient, options: ListOptions): Promise<Page<unknown>>;
  headers: string[];
  row(item: unknown): string[];
}

/** A `get` resource: typed by the list call's response, so a DTO change breaks the columns at compile time. */
function listing<D extends Page<unknown>>(
  fetchPage: (client: OperatorClient, options: ListOptions) => Promise<D>,
  columns: Record<string, (item: ItemOf<D>) => unknown>,
  selector = false,
): Resource {
  const getters = Object.values(columns);
  return {
    selector,
    fetchPage,
    headers: Object.keys(columns),
    row: (item) => getters.map((g) => cell(g(item as ItemOf<D>))),
  };
}

const RESOURCES: Record<string, Resource> = {
  devices: listing(
    (c, o) =>
      ok(
        c.GET('/operator/v1/devices', {
          params: { query: { label: o.selector ? [o.selector] : undefined, after: o.after } },
        }),
      ),
    {
      CLIENT: (d) => d.clientId,
      DEVICE: (d) => d.deviceId,
      ARCH: (d) => d.architectures.join(','),
      MEMORY: (d) => d.memory,
      LAST_REPORT: (d) => d.lastReportedAt,
    },
    true,
  ),
  deployments: listing(
    (c, o) => ok(c.GET('/operator/v1/deployments', { params: { query: { after: o.after } } })),
    {
      ID: (d) => d.id,
      PACKAGE: (d) => d.applicationId,
      VERSION: (d) => d.version,
      REVISION: (d) => d.revision,
      TARGETS: (d) =>
        Object.entries(d.targetCounts)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
    },
  ),
  packages: listing(
    (c, o) => ok(c.GET('/operator/v1/applications', { params: { query: { after: o.after } } })),
    {
      PACKAGE: (p) => p.applicationId,
      VERSION: (p) => p.version,
      NAME: (p) => p.name,
      DEPLOYMENTS: (p) => p.deployments,
    },
  ),
  clients: listing((c, o) => ok(c.GET('/operator/v1/clients', { params: { query: { after: o.after } } })), {
    CLIENT: (c) => c.clientId,
    PROFILE: (c) => c.profile,
    STATE: (c) => c.state,
    LAST_SEEN: (c) => c.lastSeenAt,
  }),
  tokens: listing((c, o) => ok(c.GET('/operator/v1/tokens', { params: { query: { after: o.after } } })), {
    NAME: (t) => t.name,
    ROLE: (t) => t.role,
    PREFIX: (t) => t.prefix,
    REVOKED: (t) => t.revokedAt,
  }),
  audit: listing((c, o) => ok(c.GET('/operator/v1/audit', { params: { query: { after: o.after } } })), {
    AT: (e) => e.at,
    ACTOR: (e) => e.actor.name,
    ACTION: (e) => e.action,
    RESOURCE: (e) => [e.resource.type, e.resource.id].filter((v) => v !== undefined).join(':'),
    OUTCOME: (e) => e.outcome,
  }),
};

function print(items: unknown[], resource: Resource, output: string | undefined): void {
  if (output === 'json') return void process.stdout.write(JSON.stringify(items, null, 2) + '\n');
  if (output === 'yaml') return void process.stdout.write(stringify(items));
  process.stdout.write(
    formatTable(
      resource.headers,
      items.map((item) => resource.row(item)),
    ),
  );
}

async function api(program: Command): Promise<Api> {
  const { context } = program.opts<{ context?: string }>();
  const ctx = resolveContext(await loadConfig(), context);
  if (!ctx) {
    throw new CliError(
      context ? `no context "${context}" (see margo-wfm login)` : 'not logged in: run margo-wfm login',
      EXIT.usage,
    );
  }
  return connect(ctx);
}

interface EventOptions {
  type?: string;
  deployment?: string;
  client?: string;
  since?: string;
  output?: string;
  follow?: boolean;
}

function eventOptions(command: Command): Command {
  return command
    .option('--type <types>', 'only these event types, comma-separated (e.g. status.changed,client.enrolled)')
    .option('--deployment <id>', 'only events of this deployment')
    .option('--client <clientId>', 'only events of this client')
    .option('--since <eventId>', 'replay the events after this id first (0: everything the log keeps)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['line', 'json']));
}

async function runEvents(program: Command, opts: EventOptions, follow: boolean): Promise<void> {
  if (opts.since !== undefined && !/^\d{1,19}$/.test(opts.since)) {
    throw new CliError('--since must be an event id (a decimal number)', EXIT.usage);
  }
  const client = await api(program);
  const after = opts.since ?? (follow ? undefined : '0');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  await readEvents(client, {
    filters: {
      ...(opts.type ? { type: opts.type } : {}),
      ...(opts.deployment ? { deploymentId: opts.deployment } : {}),
      ...(opts.client ? { clientId: opts.client } : {}),
    },
    ...(after !== undefined ? { after } : {}),
    follow,
    signal: controller.signal,
    onEvent: (event) =>
      process.stdout.write((opts.output === 'json' ? JSON.stringify(event) : eventLine(event)) + '\n'),
    onLive: () => progress(follow ? 'live: waiting for events (Ctrl-C to stop)' : ''),
    onReconnect: (reason) => process.stderr.write(`reconnecting: ${reason}\n`),
  });
}

function build(): Command {
  const program = new Command('margo-wfm')
    .description('Operator CLI of the Margo Workload Fleet Manager (rollouts: not yet, the API has none)')
    .option('--context <name>', 'use this context instead of the current one')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('login')
    .description('store a context (URL, CA file, token) after checking the credentials with the service')
    .requiredOption('--url <url>', 'service URL, e.g. https://wfm.example:8443')
    .requiredOption('--token <token>', 'operator token')
    .option('--ca <file>', 'PEM file of the CA that signs the service certificate')
    .option('--name <context>', 'context name', 'default')
    .action(async (opts: { url: string; token: string; ca?: string; name: string }) => {
      const context = { url: opts.url, token: opts.token, ...(opts.ca ? { ca: resolve(opts.ca) } : {}) };
      await ok((await connect(context)).client.GET('/operator/v1/fleet-settings'));
      const config: CliConfig = await loadConfig();
      config.contexts[opts.name] = context;
      config.currentContext = opts.name;
      await saveConfig(config);
      process.stdout.write(`logged in to ${opts.url} as context "${opts.name}" (${configPath()})\n`);
    });

  program
    .command('use-context <name>')
    .description('make a stored context the current one')
    .action(async (name: string) => {
      const config = await loadConfig();
      if (!config.contexts[name]) throw new CliError(`no context "${name}"`, EXIT.notFound);
      config.currentContext = name;
      await saveConfig(config);
      process.stdout.write(`current context: ${name}\n`);
    });

  program
    .command('get <resource>')
    .description(
      `list ${Object.keys(RESOURCES).join('|')} (every page, or up to --limit), or the logged events`,
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml', 'line']),
    )
    .option('-l, --selector <label=value>', 'devices only: label selector')
    .option('--limit <n>', 'at most this many items', (v) => {
      if (!/^[1-9]\d*$/.test(v)) throw new CliError(`--limit must be a positive integer`, EXIT.usage);
      return Number(v);
    })
    .option('--type <types>', 'events only: only these event types, comma-separated')
    .option('--deployment <id>', 'events only: only events of this deployment')
    .option('--client <clientId>', 'events only: only events of this client')
    .option('--since <eventId>', 'events only: only the events after this id (default: all kept)')
    .action(
      async (
        name: string,
        opts: { output?: string; selector?: string; limit?: number } & EventOptions,
      ): Promise<void> => {
        if (name === 'events') {
          if (opts.output === 'yaml' || opts.output === 'table') {
            throw new CliError('get events prints lines or -o json', EXIT.usage);
          }
          return runEvents(program, opts, false);
        }
        const resource = RESOURCES[name];
        if (!resource) {
          throw new CliError(
            `unknown resource "${name}" (${[...Object.keys(RESOURCES), 'events'].join(', ')})`,
            EXIT.usage,
          );
        }
        if (opts.selector && !resource.selector) {
          throw new CliError(`--selector is not supported for ${name}`, EXIT.usage);
        }
        if (opts.output === 'line') throw new CliError('-o line is for events', EXIT.usage);
        const { client } = await api(program);
        const items = await listAll<unknown>(
          (after) => resource.fetchPage(client, { selector: opts.selector, after }),
          opts.limit,
        );
        print(items, resource, opts.output);
      },
    );

  eventOptions(
    program
      .command('events')
      .description('the logged events after --since, or with --follow the live stream (one line per event)')
      .option('-f, --follow', 'keep printing new events; reconnects without gaps'),
  ).action((opts: EventOptions) => runEvents(program, opts, opts.follow === true));

  program
    .command('describe <kind> <name>')
    .description(
      'one resource: device <clientId>/<deviceId>, deployment <id> (targets with placement reasons ' +
        'and status), package <applicationId>@<version>, client <clientId>',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']))
    .action(async (kind: string, name: string, opts: { output?: string }) => {
      const item = await describe((await api(program)).client, kind, name);
      process.stdout.write(opts.output === 'json' ? JSON.stringify(item, null, 2) + '\n' : stringify(item));
    });

  program
    .command('apply')
    .description(
      'publish packages (margo.yaml ApplicationDescription) and create/update deployments (kind: Deployment) ' +
        'from a YAML/JSON file; applying the same file again changes nothing',
    )
    .requiredOption('-f, --filename <file>', 'the file (several documents separated by ---)')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--wait', 'after a change, wait until every placed target is in-sync (progress on stderr)')
    .option(
      '--timeout <seconds>',
      'with --wait: give up after this long (exit 5)',
      (v) => {
        if (!/^[1-9]\d*$/.test(v)) throw new CliError('--timeout must be a positive integer', EXIT.usage);
        return Number(v);
      },
      300,
    )
    .action(async (opts: { filename: string; dryRun?: boolean; wait?: boolean; timeout: number }) => {
      let text: string;
      try {
        text = await readFile(opts.filename, 'utf8');
      } catch (error) {
        throw new CliError(`cannot read ${opts.filename}: ${(error as Error).message}`, EXIT.usage);
      }
      let docs;
      try {
        docs = parseApplyFile(text);
      } catch (error) {
        if (error instanceof ApplyFileError) {
          throw new CliError(`${opts.filename}${error.message}`, EXIT.usage);
        }
        throw error;
      }
      const { client } = await api(program);
      const changed: Changed[] = [];
      for (const doc of docs) {
        if (doc.kind === 'package') await applyPackage(client, doc, opts.dryRun === true);
        else {
          const change = await applyDeployment(client, doc.spec, opts.dryRun === true);
          if (change) changed.push(change);
        }
      }
      if (opts.wait && !opts.dryRun) {
        for (const { id, before } of changed) {
          await waitForDeployment(client, id, opts.timeout * 1000, before);
        }
      }
    });

  for (const verb of ['approve', 'reject'] as const) {
    program
      .command(`${verb} <clientId>`)
      .description(`${verb} a legacy onboarding request`)
      .action(async (clientId: string) => {
        const { client } = await api(program);
        const path = `/operator/v1/clients/{clientId}/${verb}` as const;
        const result = await ok(client.POST(path, { params: { path: { clientId } } }));
        process.stdout.write(`${result.clientId}: ${result.state}\n`);
      });
  }
  return program;
}

function printDiff(lines: string[]): void {
  for (const line of withContext(lines, 3)) process.stdout.write(`  ${line}\n`);
}

/** Publishes a package version unless the same document is stored; a different one is refused. */
async function applyPackage(client: OperatorClient, doc: PackageDocument, dryRun: boolean): Promise<void> {
  const label = `package/${doc.applicationId}@${doc.version}`;
  const { data: stored, response } = await client.GET(
    '/operator/v1/applications/{applicationId}/versions/{version}',
    {
      params: { path: { applicationId: doc.applicationId, version: doc.version } },
    },
  );
  if (response.ok && stored) {
    const diff = packageDiff(stored.document, doc.document);
    if (diff.length === 0) return void process.stdout.write(`${label} unchanged\n`);
    printDiff(diff);
    throw new CliError(
      `${label} is published with other content; versions are immutable: publish a new metadata.version`,
      EXIT.service,
    );
  }
  if (response.status !== 404) {
    await ok(Promise.resolve({ data: undefined, error: undefined, response }));
  }
  // a new version: one line instead of the whole document as added lines
  const profiles = Array.isArray(doc.document.deploymentProfiles)
    ? doc.document.deploymentProfiles.length
    : 0;
  process.stdout.write(
    `  + ${doc.applicationId}@${doc.version} (new version, ${profiles} deployment profile(s))\n`,
  );
  if (dryRun) return void process.stdout.write(`${label} would be published (dry run)\n`);
  await ok(
    client.POST('/operator/v1/applications', {
      body: doc.text,
      bodySerializer: (body: string) => body,
      headers: { 'content-type': 'application/yaml' },
    }),
  );
  process.stdout.write(`${label} published\n`);
}

interface Changed {
  id: string;
  /** The deployment before an update (for --wait). */
  before?: Schemas['DeploymentDto'];
}

/** Creates or updates the deployment of `spec`; what changed (nothing for unchanged or a dry run). */
async function applyDeployment(
  client: OperatorClient,
  spec: DeploymentSpec,
  dryRun: boolean,
): Promise<Changed | undefined> {
  const all = await listAll<Schemas['DeploymentSummaryDto']>((after) =>
    ok(
      client.GET('/operator/v1/deployments', {
        params: { query: { applicationId: spec.package, after } },
      }),
    ),
  );
  const same = all.filter((d) => isSameDeployment(spec, d));
  if (same.length > 1) {
    throw new CliError(
      `${deploymentLabel(spec)}: ${same.length} deployments of ${spec.package} have this target ` +
        `(${same.map((d) => d.id).join(', ')}); delete all but one`,
      EXIT.service,
    );
  }
  const existing = same[0];
  const plan = planDeployment(spec, existing);
  const label = deploymentLabel(spec);
  if (plan.action === 'unchanged') {
    process.stdout.write(`${label} (${existing.id}) unchanged\n`);
    return undefined;
  }
  printDiff(plan.diff);
  if (dryRun) {
    process.stdout.write(
      `${label}${existing ? ` (${existing.id})` : ''} would be ${plan.action}d (dry run)\n`,
    );
    return undefined;
  }
  if (plan.action === 'create') {
    const created = await ok(client.POST('/operator/v1/deployments', { body: plan.create! }));
    process.stdout.write(`${label} (${created.id}) created\n`);
    return { id: created.id };
  }
  const before = await ok(
    client.GET('/operator/v1/deployments/{id}', { params: { path: { id: existing.id } } }),
  );
  const updated = await ok(
    client.PATCH('/operator/v1/deployments/{id}', {
      params: { path: { id: existing.id } },
      body: plan.patch!,
    }),
  );
  process.stdout.write(`${label} (${updated.id}) updated to revision ${updated.revision}\n`);
  return { id: updated.id, before };
}

/** `describe <kind> <name>` through the typed client. */
async function describe(client: OperatorClient, kind: string, name: string): Promise<unknown> {
  switch (kind) {
    case 'device': {
      const at = name.indexOf('/');
      if (at <= 0) throw new CliError('describe device takes <clientId>/<deviceId>', EXIT.usage);
      return ok(
        client.GET('/operator/v1/devices/{clientId}/{deviceId}', {
          params: { path: { clientId: name.slice(0, at), deviceId: name.slice(at + 1) } },
        }),
      );
    }
    case 'deployment':
      return ok(client.GET('/operator/v1/deployments/{id}', { params: { path: { id: name } } }));
    case 'package': {
      const at = name.lastIndexOf('@');
      if (at <= 0) throw new CliError('describe package takes <applicationId>@<version>', EXIT.usage);
      return ok(
        client.GET('/operator/v1/applications/{applicationId}/versions/{version}', {
          params: { path: { applicationId: name.slice(0, at), version: name.slice(at + 1) } },
        }),
      );
    }
    case 'client':
      return ok(client.GET('/operator/v1/clients/{clientId}', { params: { path: { clientId: name } } }));
    default:
      throw new CliError(`cannot describe "${kind}" (device, deployment, package, client)`, EXIT.usage);
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    await build().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${String(error)}\n`);
    return EXIT.service;
  }
}

process.exitCode = await main(process.argv);
