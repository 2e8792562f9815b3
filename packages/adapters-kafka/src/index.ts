/**
 * Kafka (kafkajs) adapter of the governor's `SignalBus` port.
 *
 * Names: topic `tenants.{account_id}.signals` (one partition, key = account_id), consumer group
 * `tenants.{account_id}.signals.governor`, the Kafka counterparts of the Pub/Sub topic and
 * subscription. An optional namespace prefixes both, for a shared cluster or a test run.
 *
 * Delivery: in publish order per tenant; ack = the receipt is durable, and the group's offset is
 * committed up to the lowest unsettled delivery only; nack = seek back after a delay (records
 * after it are fetched again and skipped if this consumer holds or settled them); at most
 * `maxOutstanding` unsettled per subscription (the topic is paused); records that do not decode
 * are logged and committed. See `TenantConsumer` for the details.
 *
 * Design trade-off: one consumer group, and so one kafkajs consumer, per tenant. The group per
 * tenant keeps a tenant's committed offset with the tenant, whichever worker reads it next (a
 * group per worker would replay a moved tenant from its first signal), and the group's single
 * partition is held by one member at a time, so a second worker subscribing the same tenant
 * stands by instead of reading along. The cost: each subscribed tenant has its own consumer,
 * i.e. its own broker connections (two on a one-broker cluster), heartbeat and fetch long-poll,
 * and its own group join (~100-300 ms) on subscribe. kafkajs cannot share connections between
 * consumers, has no manual partition assignment, and a consumer cannot change its topics without
 * stopping (a rejoin that pauses every tenant on it), so one shared consumer per worker would
 * need its own offset store per tenant (commits through the admin API to an empty group) and a
 * restart per new tenant. That, or a single multi-partition topic with account_id keys whose
 * partition assignment is the ownership, is the scale-out design left for issue 7; this adapter
 * keeps the port and the names it would need.
 */
export { KafkaBus } from './kafka-bus';
export { signalTopicName, signalGroupId } from './names';
export { KafkaAdapterError, KafkaAdapterErrorCode } from './errors';
export type { KafkaBusOptions, KafkaConsumerTiming, KafkaLog, KafkaLogLine } from './options';
export { OffsetTracker } from './offset-tracker';
export type { FetchVerdict } from './offset-tracker';
export { decodeSignal } from './decode';
export type { Decoded, UndecodableReason } from './decode';
