import { readFileSync } from 'node:fs';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { AccountConfig } from '../accounts/account-config';
import { ConfigError, validationProblems } from './config-error';

/**
 * What WECHAT_ACCOUNTS and WECHAT_ACCOUNTS_FILE hold: a bare array of accounts, or the object form
 * `{ accounts: [...] }`. Each section of the object form is a field here, a name in {@link ACCOUNTS_FILE_SECTIONS}
 * and a parser in {@link parseAccountsFile}; an absent section is empty.
 */
export interface AccountsFile {
  accounts: AccountConfig[];
  /** The `clients:` section as written (validated by loadClients, which needs the accounts); undefined if absent. */
  clients?: unknown;
}

/** The top-level keys the object form accepts; any other key is refused by name. */
export const ACCOUNTS_FILE_SECTIONS: readonly (keyof AccountsFile)[] = ['accounts', 'clients'];

// NOTE: a field added to AccountConfig is listed here too, or the file refuses it as unknown
const ACCOUNT_FIELDS = new Set([
  'appId',
  'appSecret',
  'token',
  'encodingAESKey',
  'messageMode',
  'tokenEndpoint',
  'kind',
  'messageFormat',
]);

/** Parses and validates JSON (WECHAT_ACCOUNTS) or YAML/JSON text (WECHAT_ACCOUNTS_FILE), either form. */
export function parseAccountsFile(text: string, source: string): AccountsFile {
  const data = parseText(text, source);
  if (Array.isArray(data)) return { accounts: parseAccountList(data, source) };
  if (!isPlainObject(data)) {
    throw new ConfigError([
      `${source} must be an array of accounts or an object such as { accounts: [...] }`,
    ]);
  }
  const known: readonly string[] = ACCOUNTS_FILE_SECTIONS;
  // one account given where a list belongs: say so rather than name its fields as unknown sections
  if (
    !Object.keys(data).some((key) => known.includes(key)) &&
    Object.keys(data).some((key) => ACCOUNT_FIELDS.has(key))
  ) {
    throw new ConfigError([`${source} must be an array of accounts`]);
  }
  const unknown = Object.keys(data).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new ConfigError(
      unknown.map((key) => `${source}.${key} is not a known section (known: ${known.join(', ')})`),
    );
  }
  return {
    // NOTE: accounts keep the paths of the bare form (`WECHAT_ACCOUNTS_FILE[1].appId`), which operators already know
    accounts: data.accounts === undefined ? [] : parseAccountList(data.accounts, source),
    ...(data.clients === undefined ? {} : { clients: data.clients }),
  };
}

/** The accounts of {@link parseAccountsFile}. */
export function parseAccounts(text: string, source: string): AccountConfig[] {
  return parseAccountsFile(text, source).accounts;
}

/** The accounts of WECHAT_ACCOUNTS or WECHAT_ACCOUNTS_FILE (none when neither is set); read again on reload. */
export function loadAccounts(env: NodeJS.ProcessEnv): AccountConfig[] {
  return loadAccountsFile(env).accounts;
}

/** Every section of WECHAT_ACCOUNTS or WECHAT_ACCOUNTS_FILE (empty when neither is set); read again on reload. */
export function loadAccountsFile(env: NodeJS.ProcessEnv): AccountsFile {
  if (env.WECHAT_ACCOUNTS && env.WECHAT_ACCOUNTS_FILE) {
    throw new ConfigError(['set either WECHAT_ACCOUNTS or WECHAT_ACCOUNTS_FILE, not both']);
  }
  if (env.WECHAT_ACCOUNTS) return parseAccountsFile(env.WECHAT_ACCOUNTS, 'WECHAT_ACCOUNTS');
  if (env.WECHAT_ACCOUNTS_FILE) {
    let text: string;
    try {
      text = readFileSync(env.WECHAT_ACCOUNTS_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError([
        `WECHAT_ACCOUNTS_FILE cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      ]);
    }
    return parseAccountsFile(text, 'WECHAT_ACCOUNTS_FILE');
  }
  return { accounts: [] };
}

function parseText(text: string, source: string): unknown {
  const json = source.endsWith('WECHAT_ACCOUNTS');
  try {
    // failsafe: every scalar stays a string, so an all-digit secret is not turned into a number
    return json ? JSON.parse(text) : parseYaml(text, { schema: 'failsafe' });
  } catch (error) {
    // parser messages quote the text around the error, which may be a secret: keep only the position
    const at = /position (\d+)|line (\d+)/.exec((error as Error).message);
    const where = at ? (at[1] !== undefined ? ` (near character ${at[1]})` : ` (near line ${at[2]})`) : '';
    throw new ConfigError([`${source} is not valid ${json ? 'JSON' : 'YAML/JSON'}${where}`]);
  }
}

function parseAccountList(data: unknown, source: string): AccountConfig[] {
  if (!Array.isArray(data)) throw new ConfigError([`${source} must be an array of accounts`]);
  const problems: string[] = [];
  const accounts = data.map((item: unknown, index) => {
    if (!isPlainObject(item)) {
      problems.push(`${source}[${index}] must be an object`);
      return new AccountConfig();
    }
    const account = plainToInstance(AccountConfig, item);
    for (const key of Object.keys(item)) {
      if (!ACCOUNT_FIELDS.has(key)) problems.push(`${source}[${index}].${key} is not a known account field`);
    }
    problems.push(...validationProblems(validateSync(account), `${source}[${index}]`));
    return account;
  });
  const seen = new Set<string>();
  accounts.forEach((account, index) => {
    if (account.appId && seen.has(account.appId)) problems.push(`${source}[${index}].appId is a duplicate`);
    seen.add(account.appId);
  });
  if (problems.length) throw new ConfigError(problems);
  return accounts;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
