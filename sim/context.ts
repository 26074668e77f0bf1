/**
 * What every part of the simulated world shares: the scenario, the city, the agenda (simulated
 * time), the engine, the shelves (ground truth), the metrics and the orders as the world knows
 * them. Plus the helpers they all use: command keys and per-part random streams.
 */
import type { OrderState } from '../actors/index.ts';
import type { GeoPoint, QuantityLine } from '../engine/index.ts';
import type { Agenda } from './agenda.ts';
import type { City, SimWarehouse } from './city.ts';
import type { SimEngine } from './engine-port.ts';
import type { Metrics } from './metrics.ts';
import type { Partition } from './partition.ts';
import type { Random } from './random.ts';
import type { Scenario } from './scenario.ts';
import type { Shelves } from './shelves.ts';

/** An order as the world follows it: what was asked, where, and what became of it. */
export interface SimOrder {
  orderId: string;
  warehouseId: string;
  address: GeoPoint;
  lines: QuantityLine[];
  placedAtMs: number;
  slaMs: number;
  state: OrderState;
  /** Units the picker physically took off the shelf for it (put back if it is cancelled). */
  taken: Map<string, number>;
  /** The shelf could not fill a line in full. */
  shortAtPick: boolean;
  packedAtMs?: number;
  /** The time from packed to a courier's acceptance is measured once, at the first. */
  courierAssignCounted?: boolean;
  courierId?: string;
  /** Confirmed to the customer (the payment hold was authorized and it was queued for picking). */
  confirmed: boolean;
  /** Reached a final state (counted once). */
  done: boolean;
}

export interface SimContext {
  scenario: Scenario;
  city: City;
  /** The stores this world plays: the whole city, or this thread's part of a partitioned run. */
  played: SimWarehouse[];
  /** Which thread plays which store (the whole city in one thread unless the run is partitioned). */
  partition: Partition;
  agenda: Agenda;
  engine: SimEngine;
  shelves: Shelves;
  metrics: Metrics;
  orders: Map<string, SimOrder>;
  startMs: number;
  warehouse(id: string): SimWarehouse;
  /** A fresh idempotency key. */
  key(prefix: string): string;
  /** The random stream of one part of the world (stable per label). */
  random(label: number): Random;
  /** Hours since the start of the run, now. */
  hour(): number;
}

export function inWindow(window: { fromHour: number; toHour: number } | undefined, hour: number): boolean {
  return window !== undefined && hour >= window.fromHour && hour < window.toHour;
}
