/**
 * What the status read models would otherwise recompute on every request (the profile of
 * `GET /status` under load: the schedules' next fire times, then the ledger's latest runs).
 *
 * - `memoizedNextFireTime`: a pipeline's next fire after `after` is the same instant for every
 *   `after` between the time it was computed and that fire (no fire lies in between, by
 *   definition), so it is kept until the clock reaches it. Pure: safe on AWS and embedded.
 * - `withStatusReadCache`: the ledger's run reads kept until the next write. Only where every
 *   write to the ledger goes through the returned object (the embedded control plane, which owns
 *   its SQLite ledger); never on AWS, where the projector writes from another Lambda.
 */
import type { PipelineSpec } from "../config/schema";
import type { RunLedger } from "../ledger/port";
import type { NextFireTime } from "./views";

/** `nextFireTime`, each pipeline's answer kept while it is still the next fire. */
export function memoizedNextFireTime(nextFireTime: NextFireTime): NextFireTime {
  const known = new Map<
    string,
    { readonly schedule: PipelineSpec["schedule"]; from: number; fire: Date | undefined }
  >();
  return (pipeline, after) => {
    const at = after.getTime();
    const kept = known.get(pipeline.name);
    // `fire` undefined: the schedule never fires again after `from`, nor after any later instant
    if (
      kept &&
      kept.schedule === pipeline.schedule &&
      at >= kept.from &&
      (kept.fire === undefined || at < kept.fire.getTime())
    ) {
      return kept.fire;
    }
    const fire = nextFireTime(pipeline, after);
    known.set(pipeline.name, { schedule: pipeline.schedule, from: at, fire });
    return fire;
  };
}

/** The ledger reads the status API repeats; everything else goes straight to the ledger. */
const CACHED_READS = new Set<string | symbol>(["getRun", "listRuns", "latestRuns"]);

/** Ledger methods that only read: they neither use nor clear the cache (their answers depend on the clock). */
const UNCACHED_READS = new Set<string | symbol>([
  "getRunLock",
  "listQueuedRuns",
  "listEvents",
  "listRunLocks",
]);

/**
 * The ledger, with `getRun`, `listRuns` and `latestRuns` answered from memory until the next
 * write. Any other method is taken as a write (unless it is one of the known uncached reads): the
 * cache is cleared when it settles, whether it succeeded or not, and a read that was in flight
 * across a write is not kept. A stale status answer is a bug; a missed hit is only slower.
 */
export function withStatusReadCache<L extends RunLedger>(ledger: L): L {
  let generation = 0;
  const answers = new Map<string, Promise<unknown>>();
  const invalidate = () => {
    generation += 1;
    answers.clear();
  };
  return new Proxy(ledger, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (CACHED_READS.has(property)) {
        return (...args: unknown[]) => {
          const key = `${String(property)} ${JSON.stringify(args)}`;
          const kept = answers.get(key);
          if (kept) return kept;
          const startedIn = generation;
          const answer = Promise.resolve(method.apply(target, args));
          // kept for the callers that come while it is in flight, dropped if it fails or a write came
          answers.set(key, answer);
          answer.then(
            () => {
              if (generation !== startedIn && answers.get(key) === answer) answers.delete(key);
            },
            () => {
              if (answers.get(key) === answer) answers.delete(key);
            },
          );
          return answer;
        };
      }
      if (UNCACHED_READS.has(property)) return method.bind(target);
      return (...args: unknown[]) => {
        invalidate();
        let result: unknown;
        try {
          result = method.apply(target, args);
        } catch (error) {
          invalidate();
          throw error;
        }
        if (result instanceof Promise) return result.finally(invalidate);
        invalidate();
        return result;
      };
    },
  });
}
