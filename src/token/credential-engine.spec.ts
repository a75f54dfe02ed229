import { MemoryTokenStore } from '../store/memory-token-store';
import { credentialKindContract, type KindBackend } from '../../test/support/credential-kind-fixtures';

describe('CredentialEngine: a kind fetched with another credential that persists a refresh token (in-memory store)', () => {
  let store = new MemoryTokenStore();
  const backend: KindBackend = {
    // the embedded store is single-instance by design: "another instance" shares the same store
    open: () => store,
    async closeAll() {
      await store.close();
      store = new MemoryTokenStore();
    },
  };
  credentialKindContract(() => backend);
});
