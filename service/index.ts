/**
 * Public surface of the region process: the region host (warehouses behind NATS), its config,
 * the subject scheme and wire format, NATS connection settings, and the region-wide services.
 */

export { seedCommands, seededSku } from './catalog-seed.ts';
export { type CatalogSeed, parseRegionConfig, type RegionConfig, type WarehouseConfigEntry } from './config.ts';
export { connectNats, type NatsAuthOptions, type NatsConnectOptions, natsOptions } from './connect.ts';
export { type HostedWarehouse, RegionHost, type RegionOptions } from './region.ts';
export { type RegionServiceOptions, type RunningServices, startRegionServices } from './services.ts';
export * from './subjects.ts';
export { BATCH_MAX, type BatchRequest, type BatchResult, REQUEST_BYTES_MAX } from './wire.ts';
