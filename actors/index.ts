/**
 * Public surface of the lifecycle machines (order, courier, pick task). They arrive with the order
 * lifecycle issue; the warehouse core does not depend on them.
 */
export {};
