import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Context {
  url: string;
  token: string;
  /** Path of a PEM file with the CA that signs the service's certificate. */
  ca?: string;
}

export interface CliConfig {
  currentContext?: string;
  contexts: Record<string, Context>;
}

/** `$XDG_CONFIG_HOME/margo-wfm/config.json`, else `~/.config/margo-wfm/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'margo-wfm', 'config.json');
}

export async function loadConfig(path = configPath()): Promise<CliConfig> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<CliConfig>;
    return { currentContext: parsed.currentContext, contexts: parsed.contexts ?? {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} };
    throw error;
  }
}

/** Written with mode 0600 (it holds tokens), its folder 0700. */
export async function saveConfig(config: CliConfig, path = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * The context to use: `name` (the --context flag) or the current one, with WFM_URL, WFM_TOKEN and
 * WFM_CA overriding its fields; undefined when neither gives a URL and a token.
 */
export function resolveContext(
  config: CliConfig,
  name: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Context | undefined {
  const stored = config.contexts[name ?? config.currentContext ?? ''];
  if (name !== undefined && !stored) return undefined;
  const url = env.WFM_URL || stored?.url;
  const token = env.WFM_TOKEN || stored?.token;
  const ca = env.WFM_CA || stored?.ca;
  if (!url || !token) return undefined;
  return { url, token, ...(ca ? { ca } : {}) };
}
