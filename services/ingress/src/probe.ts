import type { ReceiptLedger } from '@governor/governor';

/** One store probe (write + read), bounded: a stalled store answers "unreachable", not never. */
export async function probeWithin(
  ledger: ReceiptLedger,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ledger.probe(), timeout]);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
