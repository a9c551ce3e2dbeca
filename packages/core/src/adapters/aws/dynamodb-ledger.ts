import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandOutput,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { LedgerUnavailableError } from "../../errors";
import { factKey, type TapestryEvent } from "../../events";
import {
  checkPageLimit,
  compareEvents,
  decodeRunCursor,
  encodeRunCursor,
  incomingEvent,
  LedgerDamagedError,
  type LockResult,
  ledgerInstant,
  projectRun,
  type QueueEntryRequest,
  type RunCursor,
  type RunLedger,
  RunLockContendedError,
  type RunLockHolder,
  type RunLockRequest,
  type RunPage,
  type RunRecord,
} from "../../ledger";
import { retry } from "../../retry";
import { LEDGER_TABLE } from "./ledger-table";

export interface DynamoDbRunLedgerOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

type Item = NonNullable<GetCommandOutput["Item"]>;

interface QueueItem {
  readonly runId: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

const PK = LEDGER_TABLE.partitionKey;
const SK = LEDGER_TABLE.sortKey;
const TTL = LEDGER_TABLE.timeToLiveAttribute;
const RUNS_BY_PIPELINE = LEDGER_TABLE.runsByPipelineIndex;

const LOCK_SORT_KEY = "LOCK";
const QUEUE_SORT_KEY_PREFIX = "QUEUE#";
const RUN_SORT_KEY = "RUN";
const EVENT_SORT_KEY_PREFIX = "EVENT#";

/**
 * DynamoDB's answers that say "not now" rather than "no": after the SDK's own retries they become
 * LedgerUnavailableError, which the state machine retries by name.
 */
const TRANSIENT_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
]);

/**
 * Between a refused lock put and the read of its holder, the holder may release the lock (or it
 * may change hands again); each time that happens we try again, a few times at most.
 */
const LOCK_ATTEMPTS = 3;
/** Contention clears in milliseconds; a short jittered pause keeps two contenders from colliding again at once. */
const LOCK_BACKOFF = { baseDelayMs: 20, maxDelayMs: 200 } as const;

/**
 * The deployed control plane's run ledger, on one DynamoDB table (see LEDGER_TABLE):
 *
 * - `LOCK#<pipeline>` / `LOCK`: the pipeline's run lock (runId, expiresAt, owner, and a TTL so
 *   DynamoDB eventually sweeps stale locks; expiry is decided by expiresAt alone);
 * - `LOCK#<pipeline>` / `QUEUE#<requestedAt>#<runId>`: a queued run's place (overlap: queue), in
 *   the order the runs were asked for, with its expiry (and a TTL);
 * - `RUN#<runId>` / `EVENT#<fact key>`: every fact of the run once (see `factKey`: a retried task's
 *   second copy of an event is not stored); ledgers of earlier releases keyed events
 *   `EVENT#<occurredAt>#<id>`, which are read the same way;
 * - `RUN#<runId>` / `RUN`: the run's record, re-projected from all its events whenever a new one
 *   arrives, with the number of events it was projected from; it is also the item of the
 *   `runsByPipeline` index (`PIPELINE#<pipeline>` / `<firstEventAt>#<runId>`), which lists runs.
 *
 * There is no transaction around "insert the event, re-project the run": concurrent projectors of
 * one run are reconciled by the eventCount condition on the record instead (events are only ever
 * added, so the projection that saw more events saw a superset, and must win).
 *
 * Times are stored as `Date#toISOString` (UTC, milliseconds, fixed width), so text order is time
 * order, as in the SQLite adapter. DynamoDB failures other than the conditional checks handled
 * here propagate to the caller (the Lambda's retry is the right reaction to a throttle).
 */
export class DynamoDbRunLedger implements RunLedger {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbRunLedgerOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async acquireRunLock(input: RunLockRequest): Promise<LockResult> {
    const expiresAt = ledgerInstant(input.expiresAt, "expiresAt");
    const now = ledgerInstant(input.now, "now");
    let position: { position?: number } = {};
    if (input.queue) {
      await this.putQueueEntry(input.pipeline, input.runId, input.queue);
      const queue = await this.liveQueue(input.pipeline, now);
      const place = queue.findIndex((entry) => entry.runId === input.runId);
      position = place >= 0 ? { position: place + 1 } : {};
      const head = queue[0];
      // First asked, first started: a queued run takes the lock only when its turn has come.
      if (head !== undefined && head.runId !== input.runId) {
        const holder = await this.readLock(input.pipeline);
        const live = holder !== undefined && holder.expiresAt > now ? holder : undefined;
        if (live?.runId !== input.runId)
          return { acquired: false, heldBy: live?.runId ?? head.runId, ...position };
      }
    }
    const result = await retry((attempt) => this.tryRunLock(input, expiresAt, now, attempt), {
      ...LOCK_BACKOFF,
      maxAttempts: LOCK_ATTEMPTS,
      retryable: (error) => error instanceof RunLockContendedError,
    });
    if (result.acquired) {
      if (input.queue) await this.deleteQueueEntry(input.pipeline, input.runId);
      return result;
    }
    return { ...result, ...position };
  }

  private async tryRunLock(
    input: RunLockRequest,
    expiresAt: string,
    now: string,
    attempt: number,
  ): Promise<LockResult> {
    const taken = await this.conditionally(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: lockPartitionKey(input.pipeline),
            [SK]: LOCK_SORT_KEY,
            runId: input.runId,
            ...(input.owner === undefined ? {} : { owner: input.owner }),
            expiresAt,
            // rounded up: TTL may delete an item any time after it, and must never free a live lock
            [TTL]: Math.ceil(Date.parse(expiresAt) / 1_000),
          },
          // free, expired or already ours (re-entrant: the new expiry replaces the old one)
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now OR #runId = :runId",
          ExpressionAttributeNames: { "#pk": PK, "#expiresAt": "expiresAt", "#runId": "runId" },
          ExpressionAttributeValues: { ":now": now, ":runId": input.runId },
        }),
      ),
    );
    if (taken) return { acquired: true };
    const holder = await this.readLock(input.pipeline);
    // refused, but by the time of the read the holder may have released it, let it expire, or handed it to us
    if (holder !== undefined && holder.expiresAt > now && holder.runId !== input.runId) {
      return { acquired: false, heldBy: holder.runId };
    }
    throw new RunLockContendedError(
      `the run lock of ${input.pipeline} changed hands ${attempt} time${attempt === 1 ? "" : "s"} while ${input.runId} tried to take it: try again`,
    );
  }

  async getRunLock(pipeline: string, now: string): Promise<RunLockHolder | undefined> {
    const at = ledgerInstant(now, "now");
    const holder = await this.readLock(pipeline);
    return holder !== undefined && holder.expiresAt > at ? holder : undefined;
  }

  async enqueueRun(
    input: { pipeline: string; runId: string; now: string } & QueueEntryRequest,
  ): Promise<number> {
    const now = ledgerInstant(input.now, "now");
    await this.putQueueEntry(input.pipeline, input.runId, input);
    const queue = await this.liveQueue(input.pipeline, now);
    return queue.findIndex((entry) => entry.runId === input.runId) + 1;
  }

  async listQueuedRuns(
    pipeline: string,
    now: string,
  ): Promise<readonly { runId: string; requestedAt: string }[]> {
    return this.liveQueue(pipeline, ledgerInstant(now, "now"));
  }

  async releaseRunLock(input: { pipeline: string; runId: string }): Promise<void> {
    await this.deleteQueueEntry(input.pipeline, input.runId);
    // refused: nobody holds it, or another run does; either way not ours to release
    await this.conditionally(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [PK]: lockPartitionKey(input.pipeline), [SK]: LOCK_SORT_KEY },
          ConditionExpression: "#runId = :runId",
          ExpressionAttributeNames: { "#runId": "runId" },
          ExpressionAttributeValues: { ":runId": input.runId },
        }),
      ),
    );
  }

  async record(event: TapestryEvent): Promise<void> {
    const incoming = incomingEvent(event);
    const { runId } = incoming;
    const seenBefore = !(await this.conditionally(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: runPartitionKey(runId),
            // one item per fact: a second copy of the fact (a retried task's) is refused
            [SK]: `${EVENT_SORT_KEY_PREFIX}${factKey(incoming.event)}`,
            body: JSON.stringify(incoming.event),
            detailType: incoming.event["detail-type"],
            pipeline: incoming.pipeline,
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": PK },
        }),
      ),
    ));

    const events = await this.eventsOfRun(runId);
    // Seen before: nothing changes, unless the delivery that stored the event failed before its
    // record put (a throttle, a timeout): this redelivery is the retry that must finish the job,
    // or the run would miss the event (a finished run showing `running`) until its next event.
    if (seenBefore && (await this.projectedEventCount(runId)) >= events.length) return;
    const run = projectRun(events);
    const [first] = events;
    if (run === undefined || first === undefined) return;
    const firstEventAt = ledgerInstant(first.detail.metadata.occurredAt, "occurredAt");
    // refused: a concurrent projector saw more events than we did, and its record already has ours
    await this.conditionally(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: runPartitionKey(runId),
            [SK]: RUN_SORT_KEY,
            record: JSON.stringify(run),
            pipeline: run.pipeline,
            firstEventAt,
            eventCount: events.length,
            [RUNS_BY_PIPELINE.partitionKey]: pipelineIndexKey(run.pipeline),
            [RUNS_BY_PIPELINE.sortKey]: `${firstEventAt}#${runId}`,
          },
          // a projector that saw fewer events (a subset of ours) never overwrites one that saw more
          ConditionExpression: "attribute_not_exists(#pk) OR #eventCount <= :eventCount",
          ExpressionAttributeNames: { "#pk": PK, "#eventCount": "eventCount" },
          ExpressionAttributeValues: { ":eventCount": events.length },
        }),
      ),
    );
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { Item: item } = await this.guard(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: runPartitionKey(runId), [SK]: RUN_SORT_KEY },
          ConsistentRead: true,
        }),
      ),
    );
    return item === undefined ? undefined : recordOfItem(item);
  }

  /**
   * Reads the `runsByPipeline` index. Like every global secondary index it is eventually
   * consistent (it cannot be read with ConsistentRead): a run recorded a moment ago may be missing
   * or show its previous record for a moment. The status API tolerates that lag; getRun does not
   * have it.
   */
  async listRuns(pipeline: string, page: { limit: number; cursor?: string }): Promise<RunPage> {
    const { limit } = page;
    checkPageLimit(limit);
    const after = page.cursor === undefined ? undefined : decodeRunCursor(page.cursor, pipeline);
    // one more than the page: whether it comes tells if there is a next page, without an empty last one
    const items = await this.queryRuns(pipeline, limit + 1, after && startKeyAfter(after));
    const runs = items.slice(0, limit).map(recordOfItem);
    const last = items[limit - 1];
    if (items.length <= limit || last === undefined) return { runs };
    return {
      runs,
      nextCursor: encodeRunCursor({
        pipeline,
        firstEventAt: stringAttribute(last, "firstEventAt"),
        runId: recordOfItem(last).runId,
      }),
    };
  }

  /** From the `runsByPipeline` index, eventually consistent: see listRuns. */
  async latestRuns(pipelines: readonly string[]): Promise<ReadonlyMap<string, RunRecord>> {
    const distinct = [...new Set(pipelines)];
    const newest = await Promise.all(distinct.map((pipeline) => this.queryRuns(pipeline, 1, undefined)));
    const latest = new Map<string, RunRecord>();
    distinct.forEach((pipeline, i) => {
      const item = newest[i]?.[0];
      if (item !== undefined) latest.set(pipeline, recordOfItem(item));
    });
    return latest;
  }

  async listEvents(runId: string): Promise<readonly TapestryEvent[]> {
    return this.eventsOfRun(runId);
  }

  /** How many events the run's stored record was projected from (0: it has none). */
  private async projectedEventCount(runId: string): Promise<number> {
    const { Item: item } = await this.guard(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: runPartitionKey(runId), [SK]: RUN_SORT_KEY },
          ProjectionExpression: "#eventCount",
          ExpressionAttributeNames: { "#eventCount": "eventCount" },
          ConsistentRead: true,
        }),
      ),
    );
    if (item === undefined) return 0;
    const count: unknown = item.eventCount;
    if (typeof count !== "number") {
      throw new LedgerDamagedError("DynamoDB", `eventCount of run ${runId} is not a number`);
    }
    return count;
  }

  /** Every event of the run, in (occurredAt, id) order. */
  private async eventsOfRun(runId: string): Promise<TapestryEvent[]> {
    // the projection must see the event just written, and every one before it
    const items = await this.itemsWithPrefix(runPartitionKey(runId), EVENT_SORT_KEY_PREFIX);
    // the sort key is the fact, not the time
    return items.map(eventOfItem).sort(compareEvents);
  }

  /** Every item of a partition whose sort key starts with `prefix`, read consistently, page after page. */
  private async itemsWithPrefix(partitionKey: string, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.guard(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
            ExpressionAttributeValues: { ":pk": partitionKey, ":prefix": prefix },
            ConsistentRead: true,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  private async putQueueEntry(pipeline: string, runId: string, entry: QueueEntryRequest): Promise<void> {
    // a place once taken is kept: asking again (at another time) does not move a run back
    if ((await this.queueEntries(pipeline)).some((e) => e.runId === runId)) return;
    const requestedAt = ledgerInstant(entry.requestedAt, "requestedAt");
    const expiresAt = ledgerInstant(entry.expiresAt, "queue.expiresAt");
    await this.guard(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: lockPartitionKey(pipeline),
            [SK]: `${QUEUE_SORT_KEY_PREFIX}${requestedAt}#${runId}`,
            runId,
            requestedAt,
            expiresAt,
            [TTL]: Math.ceil(Date.parse(expiresAt) / 1_000),
          },
        }),
      ),
    );
  }

  /** The live entries of a pipeline's queue, first asked first (the sort key's order). */
  private async liveQueue(pipeline: string, now: string): Promise<{ runId: string; requestedAt: string }[]> {
    return (await this.queueEntries(pipeline))
      .filter((entry) => entry.expiresAt > now)
      .map(({ runId, requestedAt }) => ({ runId, requestedAt }));
  }

  /** Every entry of a pipeline's queue, expired ones included (DynamoDB's TTL sweeps them eventually). */
  private async queueEntries(pipeline: string): Promise<QueueItem[]> {
    // who is first must be read after every place taken before: consistently
    const items = await this.itemsWithPrefix(lockPartitionKey(pipeline), QUEUE_SORT_KEY_PREFIX);
    return items.map((item) => ({
      runId: stringAttribute(item, "runId"),
      requestedAt: stringAttribute(item, "requestedAt"),
      expiresAt: stringAttribute(item, "expiresAt"),
    }));
  }

  private async deleteQueueEntry(pipeline: string, runId: string): Promise<void> {
    const entry = (await this.queueEntries(pipeline)).find((e) => e.runId === runId);
    if (entry === undefined) return;
    await this.guard(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: {
            [PK]: lockPartitionKey(pipeline),
            [SK]: `${QUEUE_SORT_KEY_PREFIX}${entry.requestedAt}#${runId}`,
          },
        }),
      ),
    );
  }

  /**
   * A conditional write: true when it was done, false when its condition refused it (DynamoDB's
   * ConditionalCheckFailedException); any other failure throws (see guard).
   */
  private async conditionally(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.guard(write);
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** A call to DynamoDB, with its "not now" answers named for the state machine's Retry. */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof Error && TRANSIENT_ERRORS.has(error.name)) {
        throw new LedgerUnavailableError(
          `the DynamoDB ledger ${this.tableName} is unavailable for now (${error.name}): try again`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Up to `wanted` run items of the pipeline, newest first, from `startKey` on. DynamoDB may end a
   * page early (its Limit counts items read, and a page stops at 1 MB) and may hand back a
   * LastEvaluatedKey with nothing after it: follow it until `wanted` items came or none is left.
   */
  private async queryRuns(pipeline: string, wanted: number, startKey: Item | undefined): Promise<Item[]> {
    const items: Item[] = [];
    let next = startKey;
    do {
      const page = await this.guard(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: RUNS_BY_PIPELINE.name,
            KeyConditionExpression: "#gsi1pk = :gsi1pk",
            ExpressionAttributeNames: { "#gsi1pk": RUNS_BY_PIPELINE.partitionKey },
            ExpressionAttributeValues: { ":gsi1pk": pipelineIndexKey(pipeline) },
            ScanIndexForward: false,
            Limit: wanted - items.length,
            ...(next === undefined ? {} : { ExclusiveStartKey: next }),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      next = page.LastEvaluatedKey;
    } while (next !== undefined && items.length < wanted);
    return items.slice(0, wanted);
  }

  private async readLock(pipeline: string): Promise<RunLockHolder | undefined> {
    const { Item: item } = await this.guard(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: lockPartitionKey(pipeline), [SK]: LOCK_SORT_KEY },
          // a lock read must see the latest put or delete, or two runs could both believe they hold it
          ConsistentRead: true,
        }),
      ),
    );
    if (item === undefined) return undefined;
    const owner: unknown = item.owner;
    return {
      pipeline,
      runId: stringAttribute(item, "runId"),
      expiresAt: stringAttribute(item, "expiresAt"),
      ...(typeof owner === "string" ? { owner } : {}),
    };
  }
}

function lockPartitionKey(pipeline: string): string {
  return `LOCK#${pipeline}`;
}

function runPartitionKey(runId: string): string {
  return `RUN#${runId}`;
}

function pipelineIndexKey(pipeline: string): string {
  return `PIPELINE#${pipeline}`;
}

/**
 * The name, not `instanceof`: a bundle may hold two copies of @aws-sdk/client-dynamodb, and the
 * error's name is the service's contract.
 */
function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/** The index position of the cursor's run: DynamoDB resumes the query right after it. */
function startKeyAfter(cursor: RunCursor): Item {
  return {
    [PK]: runPartitionKey(cursor.runId),
    [SK]: RUN_SORT_KEY,
    [RUNS_BY_PIPELINE.partitionKey]: pipelineIndexKey(cursor.pipeline),
    [RUNS_BY_PIPELINE.sortKey]: `${cursor.firstEventAt}#${cursor.runId}`,
  };
}

function stringAttribute(item: Item, name: string): string {
  const value: unknown = item[name];
  if (typeof value !== "string") {
    throw new LedgerDamagedError(
      "DynamoDB",
      `${name} of item ${String(item[PK])} / ${String(item[SK])} is not a string`,
    );
  }
  return value;
}

function recordOfItem(item: Item): RunRecord {
  return JSON.parse(stringAttribute(item, "record")) as RunRecord;
}

/** Stored events were parsed on the way in. */
function eventOfItem(item: Item): TapestryEvent {
  return JSON.parse(stringAttribute(item, "body")) as TapestryEvent;
}
