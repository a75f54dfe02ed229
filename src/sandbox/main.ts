import { SANDBOX_DEMO_ACCOUNT, SANDBOX_DEMO_MINI_PROGRAM } from './sandbox.constants';
import {
  SimulatorInputError,
  WechatSimulator,
  type SimulatorApp,
  type SimulatorOptions,
  type SimulatorTiming,
} from './wechat-simulator';

/** An environment variable of the standalone simulator is malformed; the message names it (never its value). */
export class SandboxEnvError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable} ${reason}`);
    this.name = 'SandboxEnvError';
  }
}

/** What the standalone simulator runs with. */
export interface SandboxSettings {
  port: number;
  host: string;
  options: SimulatorOptions;
}

const TIMING_VARIABLES: Record<keyof SimulatorTiming, string> = {
  tokenLifetimeSeconds: 'SANDBOX_TOKEN_LIFETIME_SECONDS',
  overlapSeconds: 'SANDBOX_OVERLAP_SECONDS',
  forceMinIntervalSeconds: 'SANDBOX_FORCE_MIN_INTERVAL_SECONDS',
  forceDailyLimit: 'SANDBOX_FORCE_DAILY_LIMIT',
  legacyDailyQuota: 'SANDBOX_LEGACY_DAILY_QUOTA',
};

/**
 * Reads `SANDBOX_*` variables. Without `SANDBOX_APPS` the simulator knows the sandbox demo account only.
 * @throws SandboxEnvError naming the first malformed variable.
 */
export function readSandboxSettings(env: NodeJS.ProcessEnv): SandboxSettings {
  const port = readNumber(env, 'SANDBOX_PORT') ?? 4000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SandboxEnvError('SANDBOX_PORT', 'must be an integer from 0 to 65535');
  }
  const host = env.SANDBOX_HOST?.trim() || '127.0.0.1';
  const options: SimulatorOptions = { apps: readApps(env) };
  for (const [key, variable] of Object.entries(TIMING_VARIABLES) as [keyof SimulatorTiming, string][]) {
    const value = readNumber(env, variable);
    if (value !== undefined) options[key] = value;
  }
  return { port, host, options };
}

function readNumber(env: NodeJS.ProcessEnv, variable: string): number | undefined {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new SandboxEnvError(variable, 'must be a number');
  return value;
}

function readApps(env: NodeJS.ProcessEnv): SimulatorApp[] {
  const raw = env.SANDBOX_APPS?.trim();
  if (raw === undefined || raw === '') {
    return [
      { appId: SANDBOX_DEMO_ACCOUNT.appId, appSecret: SANDBOX_DEMO_ACCOUNT.appSecret },
      {
        appId: SANDBOX_DEMO_MINI_PROGRAM.appId,
        appSecret: SANDBOX_DEMO_MINI_PROGRAM.appSecret,
        kind: SANDBOX_DEMO_MINI_PROGRAM.kind,
      },
    ];
  }
  const shape =
    'must be a JSON array of {"appId","appSecret","kind"?} with non-empty strings (kind: officialAccount or miniProgram)';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // NOTE: JSON.parse messages quote the input, which holds secrets.
    throw new SandboxEnvError('SANDBOX_APPS', shape);
  }
  if (!Array.isArray(parsed)) throw new SandboxEnvError('SANDBOX_APPS', shape);
  return parsed.map((entry: unknown) => {
    const app = (entry ?? {}) as Partial<Record<keyof SimulatorApp, unknown>>;
    if (
      typeof app.appId !== 'string' ||
      app.appId === '' ||
      typeof app.appSecret !== 'string' ||
      app.appSecret === '' ||
      (app.kind !== undefined && app.kind !== 'officialAccount' && app.kind !== 'miniProgram')
    ) {
      throw new SandboxEnvError('SANDBOX_APPS', shape);
    }
    return { appId: app.appId, appSecret: app.appSecret, ...(app.kind ? { kind: app.kind } : {}) };
  });
}

function fail(message: string): never {
  console.error(`wxhub sandbox: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let simulator: WechatSimulator;
  let settings: SandboxSettings;
  try {
    settings = readSandboxSettings(process.env);
    simulator = new WechatSimulator(settings.options);
  } catch (error) {
    if (error instanceof SandboxEnvError) fail(error.message);
    if (error instanceof SimulatorInputError) {
      const variable = TIMING_VARIABLES[error.field as keyof SimulatorTiming] ?? 'SANDBOX_APPS';
      fail(`${variable} is invalid: ${error.message}`);
    }
    throw error;
  }

  let url: string;
  try {
    url = await simulator.listen(settings.port, settings.host);
  } catch (error) {
    fail(
      `cannot listen on ${settings.host}:${settings.port}: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
  }
  process.stdout.write(`${JSON.stringify({ event: 'listening', url })}\n`);

  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) =>
    fail(`unexpected startup failure: ${error instanceof Error ? error.message : String(error)}`),
  );
}
