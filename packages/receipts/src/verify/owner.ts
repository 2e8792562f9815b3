import { parseChainId } from '@governor/contracts';
import { genesisHash } from '../hash';
import { describe, type IssueLog } from './issue-log';

/**
 * The chain the receipts belong to, and the tenant or worker that owns it: the expected chain,
 * or else the first undamaged receipt's. Every receipt must name that chain and owner.
 */
export class ChainOwner {
  private current: string | null;
  private owner: { kind: 'tenants' | 'workers'; owner: string } | undefined;

  constructor(
    expectedChain: string | undefined,
    private readonly log: IssueLog,
  ) {
    this.current = expectedChain ?? null;
    if (this.current !== null) this.owner = parseChainId(this.current);
  }

  /** The chain, once known. */
  get chain(): string | null {
    return this.current;
  }

  check(body: Record<string, unknown>, seq: number | null): void {
    const chain = typeof body.chain === 'string' ? body.chain : null;
    // Without an expected chain, take the first receipt's, unless that receipt is visibly
    // damaged (an impossible chain id, or a seq 0 whose genesis link does not match it):
    // one tampered first receipt must not turn every later receipt into a mismatch.
    if (this.current === null) {
      if (chain === null || !parseChainId(chain) || (seq === 0 && body.prev_hash !== genesisHash(chain)))
        return;
      this.current = chain;
      this.owner = parseChainId(chain);
    }
    if (chain !== this.current)
      this.log.report(
        'ACCOUNT_MISMATCH',
        seq,
        `receipt belongs to chain ${describe(body.chain)}, expected ${this.current}`,
      );
    if (!this.owner) return;
    const field = this.owner.kind === 'tenants' ? 'account_id' : 'worker_id';
    if (body[field] !== undefined && body[field] !== this.owner.owner) {
      this.log.report(
        'ACCOUNT_MISMATCH',
        seq,
        `${field} ${describe(body[field])} does not match chain ${this.current}`,
      );
    }
  }
}
