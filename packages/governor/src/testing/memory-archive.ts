import type { ArchiveStore } from '../ports';

/** In-process archive store; like the real one it never overwrites. */
export class MemoryArchive implements ArchiveStore {
  readonly objects = new Map<string, Buffer>();

  put(name: string, data: Buffer): Promise<{ path: string; size: number }> {
    if (this.objects.has(name))
      return Promise.reject(new Error(`archive ${name} already exists; archives are never overwritten`));
    this.objects.set(name, Buffer.from(data));
    return Promise.resolve({ path: `memory://${name}`, size: data.length });
  }

  get(name: string): Promise<Buffer | null> {
    return Promise.resolve(this.objects.get(name) ?? null);
  }
}
