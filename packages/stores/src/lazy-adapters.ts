import type { GcpConfig, GcpStores } from '@governor/adapters-gcp';
import type { KafkaBus, KafkaBusOptions } from '@governor/adapters-kafka';
import { REPO_POLICIES } from '@governor/adapters-local';
import type { PolicyRegistry } from '@governor/governor';

// The Google Cloud clients take a second or more to load, which only the gcp backend should pay
// (`governor --version` and the embedded default never load them).
const gcpAdapters = () => import('@governor/adapters-gcp');
// kafkajs, likewise, only when signals travel on Kafka.
const kafkaAdapter = () => import('@governor/adapters-kafka');

/** Every Google Cloud store of `config`, on one set of clients (the adapters loaded now). */
export async function openGcpStores(config: GcpConfig): Promise<GcpStores> {
  const { openGcpStores: open } = await gcpAdapters();
  return open(config);
}

/**
 * Publishes the repo's plan policies to a registry that lacks them (never over existing ones):
 * what a first deploy or a fresh demo project starts from. Returns how many were published.
 */
export async function seedRepoPolicies(registry: PolicyRegistry): Promise<number> {
  const { seedPolicies } = await gcpAdapters();
  return seedPolicies(registry, REPO_POLICIES);
}

/** A Kafka signal bus (the adapter loaded now). */
export async function openKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const { KafkaBus: Bus } = await kafkaAdapter();
  return new Bus(options);
}
