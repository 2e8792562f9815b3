import { join } from 'node:path';
import { parseChainId } from '@governor/contracts';
import { invalidArgument } from './errors';

/**
 * The directory of a chain under a ledger root: `tenants/acme` → `<root>/tenants/acme`. Only
 * well-formed chain ids are accepted, so an id can never name a path outside the root.
 */
export function chainDirectory(root: string, chain: string): string {
  const parsed = parseChainId(chain);
  if (parsed === undefined) throw invalidArgument(`not a chain id: ${JSON.stringify(chain)}`);
  return join(root, parsed.kind, parsed.owner);
}
