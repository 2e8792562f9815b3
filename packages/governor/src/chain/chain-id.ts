import { parseChainId } from '@governor/contracts';
import { ledgerInvalidArgument } from './ledger-errors';

/** Throws the ledger's INVALID_ARGUMENT error unless `chain` is a well-formed chain id. */
export function checkChainId(chain: string): void {
  if (parseChainId(chain) === undefined)
    throw ledgerInvalidArgument(`not a chain id: ${JSON.stringify(chain)}`);
}
