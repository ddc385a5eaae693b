#!/usr/bin/env node
// The `spendguard` executable. Exits explicitly once output is flushed: a config's store may hold
// connections open (a Redis client the guard does not own), which must not keep the command alive.
import { main } from './cli.js';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
process.stdout.write('', () => process.exit(code));
