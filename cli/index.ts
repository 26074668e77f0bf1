/**
 * Public surface of the command line for other folders: the load writer's output protocol, which
 * the demo and the crash tests read.
 */
export { onWriterLines, outcomeOf, reservationOf, WRITER_SKUS, type WriterLine, writerCatalog } from './writer.ts';
