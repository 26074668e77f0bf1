/**
 * Public surface of the lifecycle machines: order, pick task and courier, each an XState v5
 * definition plus its compiled table (what the warehouse core runs).
 */
export { CompiledMachine, type CompiledSnapshot, type CompiledStep } from './compiled-machine.ts';
export {
  COURIER_EVENT_TYPES,
  COURIER_STATES,
  type CourierContext,
  type CourierEvent,
  type CourierEventType,
  type CourierState,
  compiledCourierMachine,
  courierMachine,
} from './courier-machine.ts';
export {
  compiledOrderMachine,
  DELIVERED_PATH,
  FINAL_ORDER_STATES,
  INTERNAL_ORDER_EVENTS,
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
export {
  compiledPickTaskMachine,
  PICK_TASK_EVENT_TYPES,
  PICK_TASK_STATES,
  type PickTaskContext,
  type PickTaskEvent,
  type PickTaskEventType,
  type PickTaskState,
  pickTaskMachine,
} from './pick-task-machine.ts';
