#!/usr/bin/env node
// The `darkstore` command. darkstore runs from its TypeScript sources: register the tsx loader,
// then hand over to the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
