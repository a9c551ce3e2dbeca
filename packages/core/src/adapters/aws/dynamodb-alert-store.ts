import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandOutput,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { alertKeyText } from "../../alerts/evaluate";
import { decideOpen, decideResolve, type KeyState } from "../../alerts/incidents";
import {
  type AlertStore,
  decodeIncidentCursor,
  encodeIncidentCursor,
  type Incident,
  type IncidentPage,
  type OpenOutcome,
  type OpenRequest,
  type ResolveOutcome,
  type ResolveRequest,
} from "../../alerts/store";
import { TapestryError } from "../../errors";
import { checkPageLimit, LedgerDamagedError, ledgerInstant } from "../../ledger";
import { retry } from "../../retry";
import { LEDGER_TABLE } from "./ledger-table";

export interface DynamoDbAlertStoreOptions {
  readonly client: DynamoDBDocumentClient;
  /** the run ledger's table (`tapestry-<stage>-ledger`): incidents live beside the runs, under ALERT# keys */
  readonly tableName: string;
}

type Item = NonNullable<GetCommandOutput["Item"]>;

const PK = LEDGER_TABLE.partitionKey;
const SK = LEDGER_TABLE.sortKey;
const TTL = LEDGER_TABLE.timeToLiveAttribute;

/** The partitions of the alert store (one partition each: incidents are few). */
const OPEN = "ALERT#OPEN";
const INCIDENTS = "ALERT#INCIDENTS";
const RESOLVED = "ALERT#RESOLVED";
const WATCH = "ALERT#WATCH";

/** A resolved incident stays in the history this long, then DynamoDB's TTL sweeps it. */
export const RESOLVED_INCIDENT_RETENTION_DAYS = 400;

/** Another writer changed the key's open incident between our read and our write: decide again. */
class KeyChanged extends Error {}

/** The same key changed under us this many times in a row: worth a Lambda retry, not a loop. */
export class AlertStoreContendedError extends TapestryError {
  override readonly name = "AlertStoreContendedError";
}

/**
 * The incidents of the deployed control plane, in the run ledger's DynamoDB table under keys of
 * their own:
 *
 * - `ALERT#OPEN` / `<key>`: the open incident of a threshold (`pipeline:rule[:stage/step]`), with a
 *   version: at most one per key, by a conditional put; changed only by a put conditional on its
 *   version, removed by a delete conditional on it;
 * - `ALERT#INCIDENTS` / `<openedAt>#<id>`: every incident, newest first when queried backwards (an
 *   open one as it opened: listings show the open item's newer state); resolved ones expire after
 *   RESOLVED_INCIDENT_RETENTION_DAYS (TTL);
 * - `ALERT#RESOLVED` / `<key>`: the key's last resolved incident (a retried resolution finds it,
 *   and a breach older than it is news from the past);
 * - `ALERT#WATCH` / `<pipeline>`: when the freshness check first watched the pipeline.
 *
 * There is no transaction (DynamoDB emulators have none, and none is needed): each decision is
 * core's decideOpen / decideResolve on a consistent read, committed by one conditional write on
 * the open item, and the other items are idempotent copies written so that a retry after a crash
 * between writes repairs them. A lost race reads again and decides again.
 */
export class DynamoDbAlertStore implements AlertStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoDbAlertStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async open(request: OpenRequest): Promise<OpenOutcome> {
    const key = alertKeyText(request.verdict);
    return this.decideAgainOnConflict(key, async () => {
      const { state, version } = await this.keyState(key);
      const decision = decideOpen(state, request);
      if (decision.write === "insert") {
        await this.putOpen(decision.incident, 1, { condition: "attribute_not_exists(#pk)" });
      } else if (decision.write === "update") {
        await this.putOpen(decision.incident, version + 1, { condition: "#version = :version", version });
      }
      // the history's copy: first written here, written again by a retry of the opening (a repair)
      if (decision.outcome.kind === "opened") await this.putHistory(decision.outcome.incident);
      return decision.outcome;
    });
  }

  async resolve(request: ResolveRequest): Promise<ResolveOutcome> {
    const key = alertKeyText(request.verdict);
    return this.decideAgainOnConflict(key, async () => {
      const { state, version } = await this.keyState(key);
      const decision = decideResolve(state, request);
      if (decision.write === "resolve") {
        // the marker first: a crash after it leaves the incident open, and the retry resolves it again
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { [PK]: RESOLVED, [SK]: key, body: JSON.stringify(decision.incident) },
          }),
        );
        await this.deleteOpen(key, version);
      }
      if (decision.outcome.kind === "resolved") await this.putHistory(decision.outcome.incident);
      return decision.outcome;
    });
  }

  async openIncidents(): Promise<readonly Incident[]> {
    const incidents = await this.queryAll(OPEN);
    return incidents.sort((a, b) => compare(a.openedAt, b.openedAt) || compare(a.id, b.id));
  }

  async listIncidents(page: { readonly limit: number; readonly cursor?: string }): Promise<IncidentPage> {
    checkPageLimit(page.limit);
    const after = page.cursor === undefined ? undefined : decodeIncidentCursor(page.cursor);
    const found: Incident[] = [];
    let startKey: Record<string, unknown> | undefined = after
      ? { [PK]: INCIDENTS, [SK]: historySortKey(after) }
      : undefined;
    // DynamoDB may end a page early (1 MB read): read on until one more than asked, or the end
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":pk": INCIDENTS },
          ScanIndexForward: false,
          Limit: page.limit + 1 - found.length,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      found.push(...(output.Items ?? []).map(incidentOf));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined && found.length <= page.limit);
    // an open incident's newest state is its open item
    const open = new Map((await this.queryAll(OPEN)).map((incident) => [incident.id, incident]));
    const incidents = found.slice(0, page.limit).map((incident) => open.get(incident.id) ?? incident);
    const last = incidents.at(-1);
    return found.length > page.limit && last
      ? { incidents, nextCursor: encodeIncidentCursor(last) }
      : { incidents };
  }

  async watchedSince(pipeline: string, now: string): Promise<string> {
    const since = ledgerInstant(now, "now");
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [PK]: WATCH, [SK]: pipeline, since },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": PK },
        }),
      );
      return since;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PK]: WATCH, [SK]: pipeline },
        ConsistentRead: true,
      }),
    );
    const stored = Item?.since;
    if (typeof stored !== "string") {
      throw new LedgerDamagedError("DynamoDB", `the watch item of ${pipeline} holds no since time`);
    }
    return stored;
  }

  /** Runs `attempt` again (reading and deciding again) when another writer won the race for the key. */
  private async decideAgainOnConflict<T>(key: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await retry(attempt, {
        maxAttempts: 5,
        baseDelayMs: 20,
        maxDelayMs: 200,
        retryable: (error) => error instanceof KeyChanged,
      });
    } catch (error) {
      if (error instanceof KeyChanged) {
        throw new AlertStoreContendedError(
          `the incident of ${key} kept changing under concurrent writers: try again`,
        );
      }
      throw error;
    }
  }

  private async keyState(key: string): Promise<{ state: KeyState; version: number }> {
    const [open, resolved] = await Promise.all([
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { [PK]: OPEN, [SK]: key }, ConsistentRead: true }),
      ),
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: RESOLVED, [SK]: key },
          ConsistentRead: true,
        }),
      ),
    ]);
    const version = open.Item?.version;
    if (open.Item && typeof version !== "number") {
      throw new LedgerDamagedError("DynamoDB", `the open incident of ${key} has no version`);
    }
    return {
      state: {
        ...(open.Item ? { open: incidentOf(open.Item) } : {}),
        ...(resolved.Item ? { lastResolved: incidentOf(resolved.Item) } : {}),
      },
      version: typeof version === "number" ? version : 0,
    };
  }

  private async putOpen(
    incident: Incident,
    version: number,
    guard: { readonly condition: string; readonly version?: number },
  ): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [PK]: OPEN, [SK]: incident.key, body: JSON.stringify(incident), version },
          ConditionExpression: guard.condition,
          ExpressionAttributeNames: guard.version === undefined ? { "#pk": PK } : { "#version": "version" },
          ...(guard.version === undefined
            ? {}
            : { ExpressionAttributeValues: { ":version": guard.version } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new KeyChanged();
      throw error;
    }
  }

  private async deleteOpen(key: string, version: number): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [PK]: OPEN, [SK]: key },
          ConditionExpression: "#version = :version",
          ExpressionAttributeNames: { "#version": "version" },
          ExpressionAttributeValues: { ":version": version },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new KeyChanged();
      throw error;
    }
  }

  private async putHistory(incident: Incident): Promise<void> {
    const expires =
      incident.resolvedAt === undefined
        ? {}
        : {
            [TTL]: Math.ceil(
              (Date.parse(incident.resolvedAt) + RESOLVED_INCIDENT_RETENTION_DAYS * 86_400_000) / 1000,
            ),
          };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [PK]: INCIDENTS, [SK]: historySortKey(incident), body: JSON.stringify(incident), ...expires },
      }),
    );
  }

  private async queryAll(partition: string): Promise<Incident[]> {
    const incidents: Incident[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":pk": partition },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      incidents.push(...(output.Items ?? []).map(incidentOf));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return incidents;
  }
}

function historySortKey(incident: { readonly openedAt: string; readonly id: string }): string {
  return `${incident.openedAt}#${incident.id}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function incidentOf(item: Item): Incident {
  const body = item.body;
  if (typeof body !== "string") {
    throw new LedgerDamagedError(
      "DynamoDB",
      `the alert item ${String(item[PK])} / ${String(item[SK])} has no body`,
    );
  }
  return JSON.parse(body) as Incident;
}
