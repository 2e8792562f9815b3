/** Archives of decommissioned chains (`gs://{bucket}/{account_id}/{YYYY-MM-DD}.tar.gz`), never overwritten. */
export interface ArchiveStore {
  /** Stores bytes under `name`; fails if it exists. Returns the archive's location. */
  put(name: string, data: Buffer): Promise<{ path: string; size: number }>;
  get(name: string): Promise<Buffer | null>;
}
