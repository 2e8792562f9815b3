import { receiptEnvelope } from '@governor/contracts';

/** Receipts take a correlation id when there is one, and carry no empty field otherwise. */
export function correlated(correlationId: string | undefined): { correlation_id?: string } {
  return correlationId ? { correlation_id: correlationId } : {};
}

/**
 * A correlation id goes into receipt bodies, whose schema bounds it: a bad one is refused before
 * anything is done, rather than failing the receipt after the work.
 */
export function badCorrelationId(correlationId: string | undefined): TypeError | null {
  if (correlationId === undefined || receiptEnvelope.correlation_id.safeParse(correlationId).success)
    return null;
  return new TypeError(`correlation_id must be 1 to 128 characters, got ${correlationId.length}`);
}

export function checkCorrelationId(correlationId: string | undefined): void {
  const bad = badCorrelationId(correlationId);
  if (bad) throw bad;
}
