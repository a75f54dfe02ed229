import type { FastifyRequest } from 'fastify';
import type { SimulatorFault, SimulatorFaultKind, SimulatorTiming } from './simulator-types';

/* Checking what callers give the simulator (options, faults, control bodies) and reading request parameters. */

type Params = Record<string, unknown>;

/** A control input (option, app, fault) is malformed. `field` names the offending field. */
export class SimulatorInputError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'SimulatorInputError';
  }
}

/** A control call named an app or token the simulator does not know. */
export class SimulatorNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorNotFoundError';
  }
}

/** The timing and limits of a simulator constructed without options. */
export const DEFAULT_TIMING: Required<SimulatorTiming> = {
  tokenLifetimeSeconds: 7200,
  overlapSeconds: 300,
  forceMinIntervalSeconds: 30,
  forceDailyLimit: 20,
  legacyDailyQuota: 2000,
};

export function definedOnly(timing: SimulatorTiming): SimulatorTiming {
  const result: SimulatorTiming = {};
  for (const key of Object.keys(DEFAULT_TIMING) as (keyof SimulatorTiming)[]) {
    if (timing[key] !== undefined) result[key] = timing[key];
  }
  return result;
}

export function validateTiming(timing: Required<SimulatorTiming>): Required<SimulatorTiming> {
  const finite = (key: keyof SimulatorTiming, positive: boolean): void => {
    const value = timing[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
      throw new SimulatorInputError(key, `must be a ${positive ? 'positive' : 'non-negative'} number`);
    }
  };
  const count = (key: keyof SimulatorTiming): void => {
    if (!Number.isSafeInteger(timing[key]) || timing[key] < 0) {
      throw new SimulatorInputError(key, 'must be a non-negative integer');
    }
  };
  finite('tokenLifetimeSeconds', true);
  finite('overlapSeconds', false);
  finite('forceMinIntervalSeconds', false);
  count('forceDailyLimit');
  count('legacyDailyQuota');
  return timing;
}

export function validateFault(fault: SimulatorFault): void {
  const kinds: readonly SimulatorFaultKind[] = ['busy', 'http500', 'hang', 'latency', 'errcode'];
  if (typeof fault !== 'object' || fault === null)
    throw new SimulatorInputError('fault', 'must be an object');
  if (!kinds.includes(fault.kind))
    throw new SimulatorInputError('kind', `must be one of ${kinds.join(', ')}`);
  if (fault.paths !== undefined && !(Array.isArray(fault.paths) && fault.paths.every(isNonEmptyString))) {
    throw new SimulatorInputError('paths', 'must be an array of paths');
  }
  if (fault.appId !== undefined && !isNonEmptyString(fault.appId)) {
    throw new SimulatorInputError('appId', 'must be a non-empty string');
  }
  if (fault.times !== undefined && !(Number.isSafeInteger(fault.times) && fault.times > 0)) {
    throw new SimulatorInputError('times', 'must be a positive integer');
  }
  if (fault.kind === 'latency' && !(typeof fault.latencyMs === 'number' && fault.latencyMs >= 0)) {
    throw new SimulatorInputError('latencyMs', 'must be a non-negative number for a latency fault');
  }
  if (fault.kind === 'errcode' && !Number.isSafeInteger(fault.errcode)) {
    throw new SimulatorInputError('errcode', 'must be an integer for an errcode fault');
  }
  if (fault.errmsg !== undefined && typeof fault.errmsg !== 'string') {
    throw new SimulatorInputError('errmsg', 'must be a string');
  }
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The first value of a query or body field, if it is a non-empty string. */
export function stringParam(value: unknown): string | undefined {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  return isNonEmptyString(first) ? first : undefined;
}

export function queryOf(request: FastifyRequest): Params {
  return (request.query ?? {}) as Params;
}

export function parseJsonObject(body: unknown): Params | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function objectBody(body: unknown): Params {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw new SimulatorInputError('body', 'must be a JSON object');
  return body;
}

export function isPlainObject(value: unknown): value is Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function httpStatusOf(error: unknown): number {
  const status = (error as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'bad request';
}
