// Group commit: charges, settles and lease steps that arrive while a batch is in flight wait, and go
// together (core's BatchQueue) as one batch script call (lua/batch.lua) that applies each in order, all or
// nothing each, with its own result.
import { BatchQueue } from '@spendguard/core/adapter';
import { decodeResults, doubtOf, encodeOps, keysAt, type Op, type Outcome } from './batch.js';
import type { Keys } from './keys.js';
import type { Reply, ScriptCaller } from './script-caller.js';

export interface GroupCommitOptions {
  retention(): number;
  eventRetention(): number;
  historyRetentionMs: number;
}

/** The batches of one client: `submit` an operation, get its own outcome. */
export function groupCommit(caller: ScriptCaller, keys: Keys, options: GroupCommitOptions): BatchQueue<Op, Outcome> {
  return new BatchQueue<Op, Outcome>(async (ops) => {
    const { limits, holds, leases, feed, prefix } = keys;
    const reply = await caller.record({
      script: 'batch',
      keys: [limits, holds, caller.session, leases, feed],
      args: (attempt, deadline, session) => {
        const acks = session?.acks ?? [];
        const encoded = encodeOps(ops, keysAt(acks.length));
        return [
          prefix,
          attempt,
          deadline,
          session?.refresh ?? 0,
          options.retention(),
          options.historyRetentionMs,
          encoded.refs,
          encoded.ops,
          options.eventRetention(),
          acks.length,
          ...acks,
          ...encoded.keys,
        ];
      },
      doubt: (attempt, deadline) => ({ attempt, deadline, ops: ops.map(doubtOf) }),
      late: lateness,
      session: true,
    });
    return decodeResults(reply, ops);
  });
}

function lateness(reply: Reply): 'known' | 'unknown' | 'ran' | false {
  const status = reply[1];
  if (status === 1) return false;
  if (status === 3) return 'ran';
  return reply[2] === 1 ? 'known' : 'unknown';
}
