// The `spendguard` command line: commander parses it, each command lives in commands/, and every
// failure ends as one readable line on stderr with a non-zero exit code.
import { createRequire } from 'node:module';
import { isSpendGuardError } from '@spendguard/core';
import { Command, CommanderError, Option } from 'commander';
import { eventsCommand } from './commands/events.js';
import { historyCommand } from './commands/history.js';
import { serveCommand } from './commands/serve.js';
import { setLimitCommand } from './commands/set-limit.js';
import { statusCommand } from './commands/status.js';
import { ConfigError } from './config.js';
import { type Context, type Io, UsageError } from './context.js';
import { colorEnabled, colors } from './render/colors.js';
import { DEFAULT_HOST, DEFAULT_PORT, UnsafeServeError } from './server.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function program(io: Io, ran: { ctx?: Context }): Command {
  const context = (cmd: Command): Context => {
    const global = cmd.optsWithGlobals<{ config?: string; color?: boolean }>();
    ran.ctx = { io, colors: colors(colorEnabled(global.color, io.env)), configPath: global.config };
    return ran.ctx;
  };
  const root = new Command('spendguard')
    .description("Look at and steer a service's spending budgets, from the service's own spendguard config.")
    .version(version)
    .option('-c, --config <file>', 'the config file (default: spendguard.config.{ts,mts,mjs,js} in the working directory)')
    .addOption(new Option('--color', 'colour the output even when it is not a terminal'))
    .addOption(new Option('--no-color', 'never colour the output (so does NO_COLOR)'))
    .showHelpAfterError('(run spendguard --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  root
    .command('status')
    .description('every budget: a bar coloured by level, used / limit, reserved, pacing, forecast')
    .argument('[budget]', "one instance ('monthly', 'project:api') or every instance of a keyed rule ('project')")
    .option('--json', 'print BudgetStatus[] as JSON')
    .action((budget: string | undefined, opts: { json?: boolean }, cmd: Command) => statusCommand(context(cmd), budget, opts));

  root
    .command('history')
    .description("past periods' totals, oldest first, with a bar each")
    .argument('<budget>', "a budget instance, e.g. 'monthly' or 'project:api'")
    .option('-n, --periods <n>', 'how many periods, the current one included', '12')
    .option('--json', 'print the periods as JSON')
    .action((budget: string, opts: { periods: string; json?: boolean }, cmd: Command) => historyCommand(context(cmd), budget, opts));

  root
    .command('events')
    .description("the store's durable event feed: transitions, alerts, resets, overages")
    .option('--since <id>', 'only events after this id (the last one already read)')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--json', 'one JSON object per line')
    .option('--limit <n>', 'events read per page', '100')
    .option('--interval <ms>', 'how often --follow polls', '1000')
    .action((opts, cmd: Command) => {
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort).once('SIGTERM', abort);
      return eventsCommand(context(cmd), opts, stop.signal).finally(() => {
        process.off('SIGINT', abort).off('SIGTERM', abort);
      });
    });

  root
    .command('set-limit')
    .description("change a rule's limit at run time, for every guard on the store (guard.setLimit)")
    .argument('<rule>', 'the rule id')
    .argument('<amount>', 'the new limit, in currency units')
    .option('-k, --key <value>', "one instance of a keyed rule (its attribute value); without it a keyed rule's '*' default changes")
    .option('--json', 'print the result as JSON')
    .action((rule: string, amount: string, opts: { key?: string; json?: boolean }, cmd: Command) =>
      setLimitCommand(context(cmd), rule, amount, opts),
    );

  root
    .command('serve')
    .description('a live HTML dashboard with /api/status, /api/history, /api/events and /metrics (read-only)')
    .option('-p, --port <port>', 'the port (0: any free one)', String(DEFAULT_PORT))
    .option('-H, --host <host>', 'the address to bind; anything but loopback needs a token', DEFAULT_HOST)
    .option('--token <token>', 'require Authorization: Bearer <token> (default: SPENDGUARD_TOKEN)')
    .option('--refresh <seconds>', 'how often the page refreshes', '2')
    .action((opts, cmd: Command) => serveCommand(context(cmd), opts));

  return root;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const ran: { ctx?: Context } = {};
  const fail = (message: string, code = 1) => {
    const c = ran.ctx?.colors ?? colors(colorEnabled(undefined, io.env, { isTTY: false }));
    io.stderr.write(`${c.red('spendguard:')} ${message}\n`);
    return code;
  };
  try {
    await program(io, ran).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already said what was wrong (or printed help)
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof UnsafeServeError) {
      return fail(err.message, err instanceof UsageError ? 2 : 1);
    }
    if (isSpendGuardError(err)) return fail(`${err.code}: ${asCommands(err.message)}`);
    return fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}

/** The guard's advice names its API calls; at the command line, the command that does the same. */
function asCommands(message: string): string {
  return message.replace(/setLimit\('([^']*)', amount, key\)/g, 'spendguard set-limit $1 <amount> --key <key>');
}
