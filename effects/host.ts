/**
 * One warehouse with its effects: recovers the durable warehouse, starts its command loop, hands
 * every committed batch's events to the effect executor (payments, notifications), and resumes the
 * payment operations a crash left pending, so a saga interrupted in any step goes on where it
 * stood. What the region process, the demo and the crash tests run. Owns the wiring only.
 */
import type { PaymentOutcomeCommand } from '../engine/index.ts';
import type { Notifier } from '../notifications/index.ts';
import type { PaymentGateway } from '../payments/index.ts';
import { DurableWarehouse, type OpenWarehouseOptions } from '../persistence/index.ts';
import { EffectExecutor } from './executor.ts';
import { type Scheduler, systemScheduler } from './scheduler.ts';

export interface HostOptions extends OpenWarehouseOptions {
  gateway: PaymentGateway;
  notifier?: Notifier;
  scheduler?: Scheduler;
  retryDelayMs?: number;
}

export interface WarehouseHost {
  warehouse: DurableWarehouse;
  executor: EffectExecutor;
  /** Stops the executor's retries, then drains and closes the warehouse. */
  close(): Promise<void>;
}

/** Opens the warehouse, wires its committed events to the executor and resumes pending payments. */
export function openWarehouseHost(options: HostOptions): WarehouseHost {
  let warehouse: DurableWarehouse | undefined;
  const executorOptions: ConstructorParameters<typeof EffectExecutor>[0] = {
    warehouseId: options.warehouseId,
    gateway: options.gateway,
    scheduler: options.scheduler ?? systemScheduler,
    submit: (command: PaymentOutcomeCommand) => (warehouse as DurableWarehouse).submit(command),
    // Operations refused past the executor's bound stay pending in their orders: swept up later.
    pendingOrders: () => (warehouse as DurableWarehouse).runtime.warehouse.state.orders.values(),
  };
  if (options.notifier !== undefined) executorOptions.notifier = options.notifier;
  if (options.retryDelayMs !== undefined) executorOptions.retryDelayMs = options.retryDelayMs;
  const executor = new EffectExecutor(executorOptions);
  const onCommitted = options.onCommitted;
  warehouse = DurableWarehouse.open({
    ...options,
    onCommitted: (batch) => {
      onCommitted?.(batch);
      executor.handle(batch.events);
    },
  });
  executor.resume(warehouse.runtime.warehouse.state.orders.values());
  const opened = warehouse;
  return {
    warehouse: opened,
    executor,
    close: async () => {
      executor.close();
      await opened.close();
    },
  };
}
