import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { FORCE_COUNTER, type TokenStore } from '../store/token-store';
import { InjectTokenStore } from './token.constants';
import { TokenRefresher } from './token-refresher';

/** Force refreshes spent today as last read from the store; `epoch` detects a change noticed during the read. */
interface ForceUse {
  day: string;
  used: number;
  epoch: number;
}

/**
 * What each account spent of its daily force budget, as the gauges show it: read from the store only for accounts
 * whose force counter may have changed since it was last read (a forced or reported token was learned, this
 * instance's refresh failed after a reservation, or a new China day began), so a scrape costs store reads in
 * proportion to refreshes, not to accounts.
 */
@Injectable()
export class ForceBudget implements OnModuleDestroy {
  private readonly forceUse = new Map<string, ForceUse>();
  /** Bumped when an account's force counter may have changed (a forced or reported token was learned). */
  private readonly forceEpochs = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly refresher: TokenRefresher,
  ) {
    // these may have spent a force refresh (here or on another instance): the budget gauge re-reads it
    this.unsubscribe = refresher.engine.onHeld((appId, held) => {
      const { source } = held.record;
      if (source === 'operator' || source === 'invalid-report')
        this.forceEpochs.set(appId, (this.forceEpochs.get(appId) ?? 0) + 1);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** Force refreshes each of `appIds` spent on `day` (0 when unknown and the store does not answer). */
  async usedToday(appIds: string[], day: string): Promise<Map<string, number>> {
    const used = new Map<string, number>();
    const reads: Promise<void>[] = [];
    for (const appId of appIds) {
      const known = this.forceUse.get(appId);
      const epoch = this.forceEpochs.get(appId) ?? 0;
      // a failing account may have spent a reservation on a call that then failed: no token tells us
      if (known && known.day === day && known.epoch === epoch && !this.refresher.failureOf(appId)) {
        used.set(appId, known.used);
        continue;
      }
      reads.push(
        this.store.getCounters(appId, day).then(
          (counters) => {
            const count = counters[FORCE_COUNTER] ?? 0;
            this.forceUse.set(appId, { day, used: count, epoch });
            used.set(appId, count);
          },
          () => {
            used.set(appId, known?.day === day ? known.used : 0);
          },
        ),
      );
    }
    await Promise.all(reads);
    return used;
  }

  forget(appId: string): void {
    this.forceUse.delete(appId);
    this.forceEpochs.delete(appId);
  }
}
