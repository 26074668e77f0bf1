/**
 * Public surface of the lifecycle machines. The order machine is here; the pick-task and courier
 * machines, and the wiring of all three into the warehouse core, come with the rest of the order
 * lifecycle issue.
 */
export { CompiledMachine, type CompiledSnapshot, type CompiledStep } from './compiled-machine.ts';
export {
  compiledOrderMachine,
  DELIVERED_PATH,
  ORDER_EVENT_TYPES,
  ORDER_STATES,
  type OrderContext,
  type OrderEffect,
  type OrderEvent,
  type OrderEventType,
  type OrderState,
  orderMachine,
  orderStateOf,
} from './order-machine.ts';
