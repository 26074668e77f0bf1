/**
 * The order part of `darkstore demo`: one warehouse with its effect executor and a simulated
 * payment provider, and an order from checkout to the door: the payment hold, a picker's scans, a
 * stockout answered by a substitute, packing, a courier who declines and one who accepts, GPS
 * pings with a live ETA, delivery with proof, and the capture. It prints each step.
 */
import { openWarehouseHost } from '../effects/index.ts';
import type { EngineEvent, Result } from '../engine/index.ts';
import { CircuitBreaker, ResilientGateway, SimulatedPaymentProvider } from '../payments/index.ts';
import { Random } from '../sim/index.ts';

const log = (line = '') => process.stdout.write(`${line}\n`);

const STORE = { lat: 52.52, lon: 13.405 };
const HOME = { lat: 52.5245, lon: 13.409 };

function show(label: string, result: Result<unknown>): void {
  const detail = result.ok ? JSON.stringify(result.value) : `${result.error.code}: ${result.error.message}`;
  log(`  ${label.padEnd(34)} ${detail.length > 110 ? `${detail.slice(0, 107)}...` : detail}`);
}

/** The events worth a line in the demo's output. */
function describeEvent(e: EngineEvent): string | undefined {
  if (e.type === 'order.changed') return `order ${e.orderId} is ${e.state}`;
  if (e.type === 'order.effect') return `effect ${e.effect} (${e.amountCents} cents)`;
  if (e.type === 'dispatch.offered')
    return `offered to ${e.courierId}, must accept by ${new Date(e.deadlineMs).toISOString()}`;
  if (e.type === 'order.substituted') return `${e.sku} substituted by ${e.substitute} × ${e.quantity}`;
  if (e.type === 'order.eta') return `ETA ${new Date(e.etaAtMs).toISOString()}`;
  if (e.type === 'escalation.raised') return `escalation ${e.kind}: ${e.detail}`;
  return undefined;
}

export async function orderDemo(dataDir: string): Promise<void> {
  log('\n2. An order from checkout to the door (payments through the effect executor)');
  const random = new Random(11);
  const provider = new SimulatedPaymentProvider({ seed: 11, clock: Date.now });
  const gateway = new ResilientGateway(provider, {
    breaker: new CircuitBreaker(Date.now),
    random: () => random.next(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  const host = openWarehouseHost({
    dataDir,
    warehouseId: 'demo-orders',
    checkpoint: 'inline',
    gateway,
    onCommitted: (batch) => {
      for (const e of batch.events) {
        const line = describeEvent(e);
        if (line !== undefined) log(`      · ${line}`);
      }
    },
  });
  const w = host.warehouse;
  let n = 0;
  const send = async (label: string, command: Record<string, unknown>) => {
    const result = await w.submit({ key: `demo-${++n}`, ...command });
    show(label, result);
    return result;
  };
  const location = (aisle: number) => ({ zone: 'A', aisle, bay: 1, level: 1 });
  await send('configure the store', { type: 'warehouse.configure', location: STORE });
  for (const [sku, name, aisle, substitutes] of [
    ['eggs-10', 'Eggs × 10', 4, []],
    ['milk-1l', 'Milk 1 l', 2, ['oat-1l']],
    ['oat-1l', 'Oat drink 1 l', 2, []],
  ] as const) {
    await w.submit({
      type: 'sku.upsert',
      key: `def-${sku}`,
      sku,
      ownerId: 'o',
      name,
      priceCents: 249,
      location: location(aisle),
      safetyStock: 0,
      substitutes: [...substitutes],
    });
    await w.submit({ type: 'receipt', key: `rcv-${sku}`, receiptId: `PO-${sku}`, lines: [{ sku, quantity: 10 }] });
  }
  await send('picker p1 checks in', { type: 'picker.check_in', pickerId: 'p1' });
  await send('courier c1 checks in', { type: 'courier.check_in', courierId: 'c1', position: STORE });
  await send('courier c2 checks in', { type: 'courier.check_in', courierId: 'c2', position: STORE });
  const orderId = `o-${Date.now().toString(36)}`;
  await send('checkout: 2 milk, 1 eggs', {
    type: 'order.place',
    orderId,
    customerId: 'cust-1',
    address: HOME,
    lines: [
      { sku: 'milk-1l', quantity: 2 },
      { sku: 'eggs-10', quantity: 1 },
    ],
    paymentToken: 'tok_demo',
    allowSubstitutes: true,
    ttlMs: 600_000,
  });
  await host.executor.idle();
  const event = (expectedState: string, type: string, facts: Record<string, unknown> = {}) =>
    send(type, { type: 'order.event', orderId, eventId: `ev-${n + 1}`, expectedState, event: type, ...facts });
  await send('picker takes the next task', { type: 'pick.take', pickerId: 'p1' });
  await event('picking', 'pick.scanned', { scanId: 's1', sku: 'eggs-10', quantity: 1 });
  await event('picking', 'pick.scanned', { scanId: 's2', sku: 'bread', quantity: 1 });
  await event('picking', 'pick.stockout', { sku: 'milk-1l' });
  await event('picking', 'pick.scanned', { scanId: 's3', sku: 'oat-1l', quantity: 2 });
  await event('picking', 'pack.completed', { bagCount: 1, stagingSlot: 'B-2' });
  const offered = w.query({ type: 'order', orderId }) as Result<{ courierId?: string }>;
  const first = offered.ok ? (offered.value.courierId ?? 'c1') : 'c1';
  const second = first === 'c1' ? 'c2' : 'c1';
  await event('courier_assigned', 'courier.declined', { courierId: first });
  await event('courier_assigned', 'courier.accepted', { courierId: second });
  await event('courier_assigned', 'courier.picked_up', { courierId: second });
  await send('GPS ping on the way', {
    type: 'courier.ping',
    courierId: second,
    position: { lat: 52.522, lon: 13.407 },
    deviceTimeMs: Date.now(),
  });
  await event('out_for_delivery', 'delivery.completed', { courierId: second, position: HOME });
  await host.executor.idle();
  const done = w.query({ type: 'order', orderId }) as Result<{ state: string; payment: unknown }>;
  if (done.ok) log(`  final: ${done.value.state}, payment ${JSON.stringify(done.value.payment)}`);
  await host.close();
}
