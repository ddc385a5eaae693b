import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('a process exiting with journalled spends says so on stderr, with the amount', () => {
  const worker = fileURLToPath(new URL('./fixtures/exit-worker.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [worker], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(run.stderr).toContain('exits with 2 journalled call(s) (3.5 in all) not written to the budget store');
});
