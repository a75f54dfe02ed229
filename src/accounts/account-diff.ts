import { accountKind, messageFormatOf, type AccountConfig } from './account-config';

/** What a new list of accounts changes compared with the running one (appIds only, never a secret). */
export interface AccountsDiff {
  added: string[];
  removed: string[];
  /** Same appId, some setting differs (secret, callback token, AES key, message mode, token endpoint, kind or message format). */
  changed: string[];
  unchanged: number;
}

const SETTINGS = ['appSecret', 'token', 'encodingAESKey', 'messageMode', 'tokenEndpoint'] as const;

/** Compares two account lists by appId; every list of the result is sorted. */
export function diffAccounts(
  previous: readonly AccountConfig[],
  next: readonly AccountConfig[],
): AccountsDiff {
  const before = new Map(previous.map((a) => [a.appId, a]));
  const after = new Map(next.map((a) => [a.appId, a]));
  const diff: AccountsDiff = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [appId, account] of after) {
    const old = before.get(appId);
    if (!old) diff.added.push(appId);
    else if (
      SETTINGS.some((field) => old[field] !== account[field]) ||
      accountKind(old) !== accountKind(account) ||
      messageFormatOf(old) !== messageFormatOf(account)
    )
      diff.changed.push(appId);
    else diff.unchanged++;
  }
  for (const appId of before.keys()) if (!after.has(appId)) diff.removed.push(appId);
  diff.added.sort();
  diff.removed.sort();
  diff.changed.sort();
  return diff;
}
