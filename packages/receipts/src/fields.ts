import { ChainId, ReceiptBody, receiptBodySchemas, type ReceiptFields } from '@governor/contracts';
import type { z } from 'zod';

// The envelope fields the appender fills in itself, from its head, its clock and its key: they
// are right by construction, so only the fields a caller passes are checked on every append.
const APPENDER_SET = {
  v: true,
  receipt_id: true,
  chain: true,
  seq: true,
  prev_hash: true,
  timestamp: true,
  key_id: true,
} as const;

type Schemas = typeof receiptBodySchemas;
const bySchema = new Map<string, z.ZodType>();
const checkedChains = new Set<string>();

/** The operation's schema without the envelope fields the appender sets, made once. */
function fieldsSchema(operation: unknown): z.ZodType | undefined {
  if (typeof operation !== 'string' || !Object.hasOwn(receiptBodySchemas, operation)) return undefined;
  let schema = bySchema.get(operation);
  if (schema === undefined) {
    const whole = receiptBodySchemas[operation as keyof Schemas] as unknown as z.ZodObject;
    const made: z.ZodType = whole.omit(APPENDER_SET);
    bySchema.set(operation, made);
    return made;
  }
  return schema;
}

/**
 * Whether `body` (the caller's `fields` under the appender's envelope) is a valid receipt body:
 * the caller's fields against their operation's schema, the envelope by what the appender knows
 * of it. Anything the quick check cannot vouch for goes through the whole schema, so what is
 * refused, and the error, are the same as a full check's.
 */
export function checkReceiptBody(
  fields: ReceiptFields,
  body: Record<string, unknown>,
  trustEnvelope: boolean,
): z.ZodSafeParseResult<ReceiptBody> | null {
  const schema = trustEnvelope ? fieldsSchema(fields.operation) : undefined;
  if (
    schema !== undefined &&
    envelopeSound(body) &&
    !Object.keys(APPENDER_SET).some((k) => Object.hasOwn(fields, k)) &&
    schema.safeParse(fields).success
  )
    return null;
  return ReceiptBody.safeParse(body);
}

/** The envelope fields that do not follow from the appender's own state alone. */
function envelopeSound(body: Record<string, unknown>): boolean {
  const chain = body.chain as string;
  // toISOString writes a six-digit year past 9999, which no receipt timestamp may have.
  if ((body.timestamp as string).length !== 24) return false;
  if (checkedChains.has(chain)) return true;
  if (!ChainId.safeParse(chain).success) return false;
  if (checkedChains.size < 10_000) checkedChains.add(chain);
  return true;
}
