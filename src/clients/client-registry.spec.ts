import * as crypto from 'node:crypto';
import { ClientRegistry, type ClientSet } from './client-registry';
import type { ClientDefinition } from './clients-parser';

// the real comparison, observed: counts how many digests a resolution compares
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof crypto>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const compare = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;

const A = 'wx0000000000000001';
const ADMIN_KEY = 'admin-key-0000000000000000001';
const WEB_KEY = 'web-backend-key-0000000001';
const WORKER_KEY = 'worker-key-00000000000000002';

const digest = (text: string): Buffer => crypto.createHash('sha256').update(text).digest();
const fingerprint = (text: string): string => `key#${digest(text).toString('hex').slice(0, 8)}`;

const web: ClientDefinition = { name: 'web', keySha256: digest(WEB_KEY), scopes: ['read'], appIds: [A] };
const worker: ClientDefinition = {
  name: 'worker',
  keySha256: digest(WORKER_KEY),
  scopes: ['read', 'report'],
  appIds: '*',
};
const set: ClientSet = { adminKeys: [ADMIN_KEY], clients: [web, worker] };

describe('ClientRegistry', () => {
  beforeEach(() => compare.mockClear());

  it('resolves an admin key to every scope on every account, named by its fingerprint as before clients', () => {
    const admin = new ClientRegistry(set).resolve(ADMIN_KEY);

    expect(admin).toEqual({
      kind: 'admin',
      name: 'admin',
      keyId: fingerprint(ADMIN_KEY),
      actorId: fingerprint(ADMIN_KEY),
      scopes: new Set(['read', 'report', 'operate', 'gateway', 'exchange']),
      appIds: '*',
    });
  });

  it('resolves a client key to its name, fingerprint, scopes and accounts', () => {
    const principal = new ClientRegistry(set).resolve(WEB_KEY);

    expect(principal).toEqual({
      kind: 'client',
      name: 'web',
      keyId: fingerprint(WEB_KEY),
      actorId: 'client:web',
      scopes: new Set(['read']),
      appIds: new Set([A]),
    });
    expect(JSON.stringify(principal)).not.toContain(WEB_KEY);
  });

  it('resolves nothing for an unknown key, and tells a missing header from an unknown key', () => {
    const registry = new ClientRegistry(set);

    expect(registry.resolve('nobody-key-0000000000000')).toBeUndefined();
    expect(registry.resolveAuthorization(undefined)).toBe('missing');
    expect(registry.resolveAuthorization('Basic abc')).toBe('missing');
    expect(registry.resolveAuthorization('Bearer nobody-key-0000000000000')).toBe('unknown');
    expect(registry.resolveAuthorization(`bearer ${WORKER_KEY} `)).toMatchObject({ name: 'worker' });
  });

  it('compares a wrong key with every key, as SHA-256 digests, every time (wrong keys are never remembered)', () => {
    const registry = new ClientRegistry(set);

    registry.resolve('nobody-key-0000000000000');
    registry.resolve('nobody-key-0000000000000');

    expect(compare).toHaveBeenCalledTimes(2 * 3);
    for (const [known, presented] of compare.mock.calls) {
      expect((known as Buffer).length).toBe(32);
      expect(presented).toEqual(digest('nobody-key-0000000000000'));
    }
  });

  it('compares a right key with every key too: the first one matching does not end the loop', () => {
    const registry = new ClientRegistry(set);

    expect(registry.resolve(ADMIN_KEY)?.kind).toBe('admin');

    expect(compare).toHaveBeenCalledTimes(3);
  });

  it('a removed client no longer resolves after replace, even though its key was just used', () => {
    const registry = new ClientRegistry(set);
    expect(registry.resolve(WEB_KEY)?.name).toBe('web');
    expect(registry.resolveAuthorization(`Bearer ${WEB_KEY}`)).toMatchObject({ name: 'web' });

    registry.replace({ adminKeys: [ADMIN_KEY], clients: [worker] });

    expect(registry.resolve(WEB_KEY)).toBeUndefined();
    expect(registry.resolveAuthorization(`Bearer ${WEB_KEY}`)).toBe('unknown');
    expect(registry.resolve(WORKER_KEY)?.name).toBe('worker');
    expect(registry.clientCount).toBe(1);
  });

  it('a changed client resolves with its new scopes and accounts at once after replace', () => {
    const registry = new ClientRegistry(set);
    expect(registry.resolve(WEB_KEY)?.scopes).toEqual(new Set(['read']));

    registry.replace({
      adminKeys: [ADMIN_KEY],
      clients: [{ ...web, scopes: ['gateway'], appIds: '*' }, worker],
    });

    expect(registry.resolve(WEB_KEY)).toMatchObject({ scopes: new Set(['gateway']), appIds: '*' });
  });

  it('tells its listeners the new revision; the revision names the content, not the order', () => {
    const registry = new ClientRegistry(set);
    const seen: string[] = [];
    registry.onReplace((revision) => seen.push(revision));
    const first = registry.revision;

    registry.replace({ adminKeys: [ADMIN_KEY], clients: [worker, web] });
    expect(registry.revision).toBe(first);

    registry.replace({ adminKeys: [ADMIN_KEY], clients: [worker] });
    expect(registry.revision).not.toBe(first);
    expect(seen).toEqual([first, registry.revision]);
  });

  it('is empty with no admin key and no client', () => {
    expect(new ClientRegistry({ adminKeys: [], clients: [] }).empty).toBe(true);
    expect(new ClientRegistry({ adminKeys: [], clients: [] }).resolve(ADMIN_KEY)).toBeUndefined();
    expect(new ClientRegistry(set).empty).toBe(false);
  });
});
