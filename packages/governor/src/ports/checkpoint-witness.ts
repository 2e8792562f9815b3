/**
 * An independent witness of signed checkpoints (`checkpoints/{chain}/{size}.note` in Cloud
 * Storage): a second store the ledger's writer cannot rewrite, so an auditor checks the chain
 * read from the ledger against a checkpoint kept elsewhere.
 */
export interface CheckpointWitness {
  /** Stores the note for `size`; writing the same note again resolves, a different note for a stored size fails. */
  witness(chain: string, size: number, note: string): Promise<void>;
  /** The note with the largest size witnessed for the chain, or null. */
  latest(chain: string): Promise<string | null>;
}
