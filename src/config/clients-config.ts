import type { AccountConfig } from '../accounts/account-config';
import { parseClients, parseClientsJson, type ClientDefinition } from '../clients/clients-parser';
import type { AccountsFile } from './accounts-file';
import { ConfigError } from './config-error';

/** The validated clients, and their plain keys for the log scrubber only. */
export interface LoadedClients {
  clients: ClientDefinition[];
  keys: string[];
}

/**
 * The clients of WECHAT_CLIENTS (JSON array) or of the `clients:` section of the accounts file (both set is
 * refused), checked against the accounts they will serve (sandbox demo accounts included), their AppSecrets and
 * ADMIN_API_KEYS. Called at boot and on every reload; throws ConfigError (naming index, client and field, never a
 * key) when the list is not valid.
 */
export function loadClients(
  env: NodeJS.ProcessEnv,
  file: AccountsFile,
  accounts: readonly AccountConfig[],
  adminKeys: readonly string[],
): LoadedClients {
  const fromEnv = env.WECHAT_CLIENTS;
  if (fromEnv !== undefined && fromEnv.trim() !== '' && file.clients !== undefined) {
    throw new ConfigError(['set clients either in WECHAT_CLIENTS or in the accounts file, not both']);
  }
  const context = (source: string) => ({
    source,
    appIds: accounts.map((a) => a.appId),
    appSecrets: accounts.map((a) => a.appSecret).filter(Boolean),
    adminKeys,
  });
  const result =
    fromEnv !== undefined && fromEnv.trim() !== ''
      ? parseClientsJson(fromEnv, context('WECHAT_CLIENTS'))
      : parseClients(
          file.clients,
          context(env.WECHAT_ACCOUNTS_FILE ? 'WECHAT_ACCOUNTS_FILE clients' : 'WECHAT_ACCOUNTS clients'),
        );
  if (!result.ok) throw new ConfigError(result.problems);
  return { clients: result.clients, keys: result.keys };
}
