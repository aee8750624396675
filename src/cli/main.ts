#!/usr/bin/env node
// `margo-wfm`: the operator CLI (login, contexts, get). Exit codes: 0 ok, 1 error from the service,
// 2 usage, 3 not found, 4 connection/TLS error.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import { type CliConfig, configPath, loadConfig, resolveContext, saveConfig } from './config.js';
import { cell, formatTable } from './format.js';
import { type Api, CliError, connect, EXIT } from './http.js';
import { listAll, type Page } from './paging.js';

type Row = Record<string, unknown>;

interface Resource {
  path: string;
  columns: Record<string, (item: Row) => unknown>;
  selector?: boolean;
}

const RESOURCES: Record<string, Resource> = {
  devices: {
    path: '/operator/v1/devices',
    selector: true,
    columns: {
      CLIENT: (d) => d.clientId,
      DEVICE: (d) => d.deviceId,
      ARCH: (d) => (d.architectures as string[] | undefined)?.join(','),
      MEMORY: (d) => d.memory,
      LAST_REPORT: (d) => d.lastReportedAt,
    },
  },
  deployments: {
    path: '/operator/v1/deployments',
    columns: {
      ID: (d) => d.id,
      PACKAGE: (d) => d.applicationId,
      VERSION: (d) => d.version,
      REVISION: (d) => d.revision,
      TARGETS: (d) =>
        Object.entries((d.targetCounts as Record<string, number> | undefined) ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
    },
  },
  packages: {
    path: '/operator/v1/applications',
    columns: {
      PACKAGE: (p) => p.applicationId,
      VERSION: (p) => p.version,
      NAME: (p) => p.name,
      DEPLOYMENTS: (p) => p.deployments,
    },
  },
  clients: {
    path: '/operator/v1/clients',
    columns: {
      CLIENT: (c) => c.clientId,
      PROFILE: (c) => c.profile,
      STATE: (c) => c.state,
      LAST_SEEN: (c) => c.lastSeenAt,
    },
  },
  tokens: {
    path: '/operator/v1/tokens',
    columns: {
      NAME: (t) => t.name,
      ROLE: (t) => t.role,
      PREFIX: (t) => t.prefix,
      REVOKED: (t) => t.revokedAt,
    },
  },
};

function print(items: Row[], resource: Resource, output: string | undefined): void {
  if (output === 'json') return void process.stdout.write(JSON.stringify(items, null, 2) + '\n');
  if (output === 'yaml') return void process.stdout.write(stringify(items));
  const headers = Object.keys(resource.columns);
  const getters = Object.values(resource.columns);
  process.stdout.write(
    formatTable(
      headers,
      items.map((item) => getters.map((g) => cell(g(item)))),
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
      await (await connect(context)).get('/operator/v1/fleet-settings');
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
    .description(`list ${Object.keys(RESOURCES).join('|')} (every page, or up to --limit)`)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']))
    .option('-l, --selector <label=value>', 'devices only: label selector')
    .option('--limit <n>', 'at most this many items', (v) => {
      if (!/^[1-9]\d*$/.test(v)) throw new CliError(`--limit must be a positive integer`, EXIT.usage);
      return Number(v);
    })
    .action(async (name: string, opts: { output?: string; selector?: string; limit?: number }) => {
      const resource = RESOURCES[name];
      if (!resource) {
        throw new CliError(`unknown resource "${name}" (${Object.keys(RESOURCES).join(', ')})`, EXIT.usage);
      }
      if (opts.selector && !resource.selector) {
        throw new CliError(`--selector is not supported for ${name}`, EXIT.usage);
      }
      const client = await api(program);
      const items = await listAll<Row>(
        (after) =>
          client.get(resource.path, {
            ...(resource.selector ? { label: opts.selector } : {}),
            after,
          }) as Promise<Page<Row>>,
        opts.limit,
      );
      print(items, resource, opts.output);
    });
  program
    .command('describe <kind> <name>')
    .description(
      'one resource: device <clientId>/<deviceId>, deployment <id> (targets with placement reasons ' +
        'and status), package <applicationId>@<version>, client <clientId>',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']))
    .action(async (kind: string, name: string, opts: { output?: string }) => {
      const path = describePath(kind, name);
      const item = await (await api(program)).get(path);
      process.stdout.write(opts.output === 'json' ? JSON.stringify(item, null, 2) + '\n' : stringify(item));
    });

  for (const verb of ['approve', 'reject'] as const) {
    program
      .command(`${verb} <clientId>`)
      .description(`${verb} a legacy onboarding request`)
      .action(async (clientId: string) => {
        const client = (await (
          await api(program)
        ).post(`/operator/v1/clients/${encodeURIComponent(clientId)}/${verb}`)) as Row;
        process.stdout.write(`${cell(client.clientId)}: ${cell(client.state)}\n`);
      });
  }
  return program;
}

/** The API path of `describe <kind> <name>`. */
function describePath(kind: string, name: string): string {
  const e = encodeURIComponent;
  switch (kind) {
    case 'device': {
      const at = name.indexOf('/');
      if (at <= 0) throw new CliError('describe device takes <clientId>/<deviceId>', EXIT.usage);
      return `/operator/v1/devices/${e(name.slice(0, at))}/${name
        .slice(at + 1)
        .split('/')
        .map(e)
        .join('/')}`;
    }
    case 'deployment':
      return `/operator/v1/deployments/${e(name)}`;
    case 'package': {
      const at = name.lastIndexOf('@');
      if (at <= 0) throw new CliError('describe package takes <applicationId>@<version>', EXIT.usage);
      return `/operator/v1/applications/${e(name.slice(0, at))}/versions/${e(name.slice(at + 1))}`;
    }
    case 'client':
      return `/operator/v1/clients/${e(name)}`;
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
