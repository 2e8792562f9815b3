import { parseChainId } from '@governor/contracts';
import { GovernorError } from '../errors';
import type { CheckpointWitness } from '../ports';

/** The failure codes every CheckpointWitness shares, so callers branch the same way on each adapter. */
function witnessError(code: 'WITNESS_CONFLICT' | 'INVALID_ARGUMENT', message: string): Error {
  return new GovernorError(code, message, false);
}

function invalid(chain: string, size: number): Error | null {
  if (parseChainId(chain) === undefined)
    return witnessError(
      'INVALID_ARGUMENT',
      `not a chain id: ${JSON.stringify(chain)} (expected tenants/{account_id} or workers/{worker_id})`,
    );
  if (!Number.isSafeInteger(size) || size < 0)
    return witnessError(
      'INVALID_ARGUMENT',
      `checkpoint size ${size} of chain ${chain} is not a receipt count`,
    );
  return null;
}

/**
 * In-process checkpoint witness, with the semantics of the Cloud Storage one: a note per chain
 * and size, written once; the same note again is a no-op, a different one a `WITNESS_CONFLICT`.
 */
export class MemoryWitness implements CheckpointWitness {
  private readonly chains = new Map<string, Map<number, string>>();

  witness(chain: string, size: number, note: string): Promise<void> {
    const refused = invalid(chain, size);
    if (refused) return Promise.reject(refused);
    let notes = this.chains.get(chain);
    if (!notes) this.chains.set(chain, (notes = new Map<number, string>()));
    const stored = notes.get(size);
    if (stored === undefined) notes.set(size, note);
    else if (stored !== note)
      return Promise.reject(
        witnessError(
          'WITNESS_CONFLICT',
          `chain ${chain} already has a different checkpoint witnessed at size ${size}; ` +
            'a witnessed checkpoint is never replaced: two signed heads for one size mean the chain forked',
        ),
      );
    return Promise.resolve();
  }

  latest(chain: string): Promise<string | null> {
    const refused = invalid(chain, 0);
    if (refused) return Promise.reject(refused);
    const notes = this.chains.get(chain);
    if (!notes || notes.size === 0) return Promise.resolve(null);
    return Promise.resolve(notes.get(Math.max(...notes.keys())) ?? null);
  }
}
