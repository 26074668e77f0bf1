/**
 * Starts a worker thread from a module URL. When darkstore runs from its TypeScript sources (tsx),
 * a worker does not inherit the TypeScript loader, so the worker first registers tsx and then
 * imports the module; from compiled JavaScript it starts the module directly.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts `moduleUrl` in a worker thread with `workerData` (and other worker options, e.g. its heap's limits). */
export function startWorker(
  moduleUrl: URL,
  workerData: unknown,
  options: Omit<WorkerOptions, 'eval' | 'workerData'> = {},
): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, { ...options, workerData });
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(code, { ...options, eval: true, workerData });
}
