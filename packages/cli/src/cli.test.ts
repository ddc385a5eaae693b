// The real `spendguard` executable (built dist) run as a child process against a SQLite config
// written as .ts and as .mjs. Needs `pnpm build` first (pnpm test does it).
import type { BudgetStatus, HistoryEntry } from '@spendguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedEvent } from './feed.js';
import { makeProject, type Project, row } from './test-support/project.js';

const ESC = '\x1b[';

describe.each(['ts', 'mjs'] as const)('spendguard with spendguard.config.%s', (kind) => {
  let project: Project;

  beforeAll(async () => {
    project = makeProject(kind);
    const guard = project.guard();
    await guard.spend({ project: 'api', user: 'u_1' }, 42); // project:api 84 % → warning; monthly 42 %
    await guard.spend({ project: 'batch', user: 'u_2' }, 3.5);
    await guard.reserve({ project: 'batch', user: 'u_3' }, 1.25);
    await guard.close();
  });
  afterAll(() => project.remove());

  it('status: a table with every instance, the configured ones before their first spend, a bar each, no colour in a pipe', async () => {
    const { code, stdout, stderr } = await project.run(['status']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toContain(ESC);
    const header = stdout.split('\n')[0] ?? '';
    for (const col of ['BUDGET', 'LEVEL', 'USAGE', 'USED / LIMIT', 'RESERVED', 'TODAY / DAILY', 'FORECAST']) expect(header).toContain(col);
    expect(row(stdout, 'monthly')).toMatch(/^monthly\s+ok\s+[█▉▊▋▌▍▎▏▒░]{24}\s+46%\s+45.50 \/ 100.00\s+1.25\s/);
    expect(row(stdout, 'project:api')).toMatch(/project:api\s+warning\s+█{20}[▏▎▍▌▋▊▉]?░+\s+84%\s+42.00 \/ 50.00\s+0.00/);
    expect(row(stdout, 'project:batch')).toContain('3.50 / 30.00');
    expect(row(stdout, 'project:batch')).toContain('1.25'); // reserved
    expect(row(stdout, 'project:batch')).toContain('▒'); // what the reservation holds, on the bar
    // Lines up: every row's bar starts in the same column as the USAGE header.
    const at = header.indexOf('USAGE');
    for (const name of ['monthly', 'project:api', 'project:batch', 'user:u_1'])
      expect(row(stdout, name).slice(at, at + 1)).toMatch(/[█▉▊▋▌▍▎▏▒░]/);
    expect(stdout).toMatch(/\d+ budgets · 1 warning/);
  });

  it('status --json prints BudgetStatus[]; a configured instance with no spend is there with used 0', async () => {
    const { code, stdout } = await project.run(['status', '--json']);
    expect(code).toBe(0);
    const statuses = JSON.parse(stdout) as BudgetStatus[];
    const byName = new Map(statuses.map((s) => [s.budget, s]));
    expect([...byName.keys()].sort()).toEqual(['monthly', 'project:api', 'project:batch', 'user:u_1', 'user:u_2', 'user:u_3']);
    expect(byName.get('project:api')).toMatchObject({
      rule: 'project',
      key: 'api',
      used: 42,
      limit: 50,
      level: 'warning',
      enforce: 'hard',
    });
    expect(byName.get('monthly')).toMatchObject({ used: 45.5, reserved: 1.25, limit: 100, softLimit: 80 });
    expect(byName.get('user:u_3')).toMatchObject({ used: 0, reserved: 1.25 });
    expect(byName.get('monthly')?.pacing).toEqual(expect.objectContaining({ overPace: expect.any(Boolean) }));
  });

  it('status <instance> and status <keyed rule>', async () => {
    const one = JSON.parse((await project.run(['status', 'project:api', '--json'])).stdout) as BudgetStatus[];
    expect(one.map((s) => s.budget)).toEqual(['project:api']);
    const rule = await project.run(['status', 'project']);
    expect(rule.stdout).toContain('project:api');
    expect(rule.stdout).toContain('project:batch');
    expect(rule.stdout).not.toContain('monthly');
  });

  it('colours bars and levels with --color or FORCE_COLOR, and never with NO_COLOR', async () => {
    const forced = await project.run(['status'], { FORCE_COLOR: '1' });
    expect(row(forced.stdout.replace(/\x1b\[[0-9;]*m/g, ''), 'project:api')).toContain('warning');
    expect(forced.stdout).toContain(`${ESC}33mwarning`); // yellow
    expect(forced.stdout).toContain(`${ESC}32mok`); // green
    expect((await project.run(['--color', 'status'])).stdout).toContain(`${ESC}33m`);
    expect((await project.run(['--color', 'status'], { NO_COLOR: '1' })).stdout).not.toContain(ESC);
  });

  it('history: past periods with a bar each, newest last; --json prints the periods', async () => {
    const { code, stdout } = await project.run(['history', 'project:api', '--periods', '3']);
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => /^\d{4}-\d{2} /.test(l));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/█+.*42.00\s+84%\s+current/);
    expect(lines[0]).toMatch(/░{30}\s+0.00\s+0%/);
    const json = JSON.parse((await project.run(['history', 'project:api', '-n', '2', '--json'])).stdout) as HistoryEntry[];
    expect(json).toHaveLength(2);
    expect(json[1]).toMatchObject({ used: 42 });
    expect(json[0]).toMatchObject({ used: 0 });
  });

  it('set-limit changes the limit for every guard on the store; --key one instance; --json', async () => {
    const set = await project.run(['set-limit', 'monthly', '200']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('Limit of monthly set to 200.00');
    expect(row(set.stdout, 'monthly')).toContain('45.50 / 200.00');
    const keyed = await project.run(['set-limit', 'project', '80', '--key', 'api', '--json']);
    expect(keyed.code).toBe(0);
    expect(JSON.parse(keyed.stdout)).toMatchObject({
      rule: 'project',
      key: 'api',
      limit: 80,
      status: [{ budget: 'project:api', limit: 80 }],
    });
    const guard = project.guard();
    try {
      expect((await guard.status('project:api')).limit).toBe(80);
      expect((await guard.status('monthly')).limit).toBe(200);
    } finally {
      await guard.close();
    }
  });

  it('says what is wrong, with a non-zero exit: unknown budget, unknown rule, bad amount, bad option', async () => {
    const unknown = await project.run(['status', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/spendguard: UNKNOWN_BUDGET: .*nope/);
    const unlisted = await project.run(['status', 'project:zzz']); // its advice is the command, not the API call
    expect(unlisted.stderr).toContain('spendguard set-limit project <amount> --key <key>');
    expect(unlisted.stderr).not.toContain('setLimit(');
    const rule = await project.run(['set-limit', 'nope', '5']);
    expect(rule.code).toBe(2);
    expect(rule.stderr).toContain('no rule nope');
    expect(rule.stderr).toContain('monthly, project, user');
    const amount = await project.run(['set-limit', 'monthly', 'lots']);
    expect(amount.code).toBe(2);
    expect(amount.stderr).toContain('<amount> must be a number');
    const option = await project.run(['status', '--bogus']);
    expect(option.code).not.toBe(0);
    expect(option.stderr).toContain("unknown option '--bogus'");
    const keyed = await project.run(['history', 'project']);
    expect(keyed.code).toBe(2);
    expect(keyed.stderr).toContain('project:<project>');
  });
});

describe('spendguard config errors', () => {
  let project: Project;
  beforeAll(() => {
    project = makeProject('mjs');
  });
  afterAll(() => project.remove());

  it('no config: says where it looked and what to create', async () => {
    const { code, stderr } = await project.run(['status', '--config', 'missing.ts']);
    expect(code).toBe(1);
    expect(stderr).toContain('missing.ts does not exist');
    const { writeFileSync, rmSync } = await import('node:fs');
    rmSync(project.config);
    try {
      const none = await project.run(['status']);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no spendguard config in');
      expect(none.stderr).toContain('spendguard.config.ts');
      writeFileSync(`${project.dir}/broken.mjs`, 'export default { store: () => { throw new Error("no db here") }, budgets: [] };');
      const broken = await project.run(['status', '-c', 'broken.mjs']);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('its store function failed: no db here');
      writeFileSync(`${project.dir}/empty.mjs`, 'export const x = 1;');
      const empty = await project.run(['status', '-c', 'empty.mjs']);
      expect(empty.stderr).toContain("must default-export the guard's options");
      writeFileSync(`${project.dir}/empty.ts`, 'export const config = { budgets: [] };');
      const emptyTs = await project.run(['status', '-c', 'empty.ts']);
      expect(emptyTs.stderr).toContain("must default-export the guard's options"); // as for .mjs, not 'no store'
      writeFileSync(`${project.dir}/syntax.ts`, 'export default { store: ( };');
      const syntax = await project.run(['status', '-c', 'syntax.ts']);
      expect(syntax.code).toBe(1);
      expect(syntax.stderr).toContain('could not load');
      writeFileSync(`${project.dir}/invalid.mjs`, "export default { store: { charge: 1 }, budgets: [{ id: 'x', limit: 1 }] };");
      const invalid = await project.run(['status', '-c', 'invalid.mjs']);
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain('store must be a storage adapter');
    } finally {
      const { configSource } = await import('./test-support/project.js');
      writeFileSync(project.config, configSource('mjs'));
    }
  });

  it('--help lists the commands', async () => {
    const { code, stdout } = await project.run(['--help']);
    expect(code).toBe(0);
    for (const cmd of ['status', 'history', 'events', 'set-limit', 'serve']) expect(stdout).toContain(cmd);
  });
});

// These read the store's durable event feed through guard.events().
describe('spendguard events (the durable feed)', () => {
  let project: Project;
  beforeAll(async () => {
    project = makeProject('ts');
    const guard = project.guard();
    await guard.spend({ project: 'api', user: 'u_1' }, 30); // project:api ok → warning (60 %)
    await guard.spend({ project: 'api', user: 'u_2' }, 20); // project:api → critical (100 %… 50 of 50: exhausted)
    await guard.close();
  });
  afterAll(() => project.remove());

  it('prints every event in order; --json one object per line; --since continues after an id', async () => {
    const json = await project.run(['events', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FeedEvent);
    expect(events.map((e) => `${e.type} ${e.budget}`)).toContain('transition project:api');
    expect(events.find((e) => e.type === 'alert' && e.budget === 'project:api')).toMatchObject({ level: 'info' });
    const first = events[0] as FeedEvent;
    const after = await project.run(['events', '--json', '--since', first.id]);
    expect(after.stdout.trim().split('\n')).toHaveLength(events.length - 1);
    const text = await project.run(['events']);
    expect(text.stdout).toMatch(/transition\s+project:api\s+ok → info/);
  });

  it('--follow prints events as they happen', async () => {
    const follow = await project.start(['events', '--follow', '--json', '--interval', '100'], /"budget":"project:api"/);
    try {
      expect(follow.output()).not.toContain('"budget":"project:batch"');
      const guard = project.guard();
      expect((await guard.spend({ project: 'batch', user: 'u_9' }, 25)).allowed).toBe(true); // project:batch → warning, monthly → warning
      await guard.close();
      await expect.poll(follow.output, { timeout: 20_000 }).toContain('"budget":"project:batch"');
    } finally {
      expect(await follow.stop()).toBe(0);
    }
  });
});
