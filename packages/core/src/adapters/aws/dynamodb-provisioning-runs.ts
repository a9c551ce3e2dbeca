import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { ProvisioningStoreUnavailableError } from "../../provisioning/errors";
import type { ProvisioningRunRecord } from "../../provisioning/run-record";
import type { BeginOutcome, ProvisioningRuns } from "../../provisioning/store";
import { LEDGER_TABLE } from "./ledger-table";
import { isTransientSdkError } from "./sdk-errors";

const PK = LEDGER_TABLE.partitionKey;
const SK = LEDGER_TABLE.sortKey;

/**
 * Provisioning's runs and its lock in the ledger's DynamoDB table, beside the run ledger's items
 * and never mixed with them (their partition keys start `PROV#`):
 * - `PROV#RUNS` / `<runId>`: a run's record. Run ids are `provision-<ULID>`, so the partition
 *   read backwards gives the run that began last. A stage has a handful of runs: one partition.
 * - `PROV#LOCK` / `LOCK`: the run that holds the stage's provisioning lock, until `expiresAt`
 *   (and `ttl`, so DynamoDB drops a lock a dead run left; begin never relies on it).
 * DynamoDB's "not now" answers are ProvisioningStoreUnavailableError, which the state machine retries.
 */
export class DynamoDbProvisioningRuns implements ProvisioningRuns {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => Date;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string; now?: () => Date }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
  }

  async begin(record: ProvisioningRunRecord, lockExpiresAt: string): Promise<BeginOutcome> {
    const now = this.now().toISOString();
    const taken = await this.conditionally(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: LOCK_KEY[PK],
            [SK]: LOCK_KEY[SK],
            runId: record.runId,
            expiresAt: lockExpiresAt,
            [LEDGER_TABLE.timeToLiveAttribute]: Math.ceil(Date.parse(lockExpiresAt) / 1000),
          },
          // free, this run's already, or expired (ISO 8601 strings in UTC compare as times)
          ConditionExpression: "attribute_not_exists(#pk) OR runId = :run OR expiresAt <= :now",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":run": record.runId, ":now": now },
        }),
      ),
    );
    if (!taken) {
      const lock = await this.guard(() =>
        this.client.send(new GetCommand({ TableName: this.tableName, Key: LOCK_KEY, ConsistentRead: true })),
      );
      const holder = lock.Item?.runId;
      // freed between the two calls: the caller asks again (a retry begins it)
      if (typeof holder !== "string") {
        throw new ProvisioningStoreUnavailableError("the provisioning lock changed hands: try again");
      }
      return { begun: false, activeRunId: holder };
    }
    // the run's first record, unless a retry of this begin stored it already
    await this.conditionally(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: runItem(record),
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": PK },
        }),
      ),
    );
    return { begun: true };
  }

  async save(record: ProvisioningRunRecord): Promise<void> {
    await this.guard(() =>
      this.client.send(new PutCommand({ TableName: this.tableName, Item: runItem(record) })),
    );
  }

  async release(runId: string): Promise<void> {
    await this.conditionally(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: LOCK_KEY,
          ConditionExpression: "runId = :run",
          ExpressionAttributeValues: { ":run": runId },
        }),
      ),
    );
  }

  async getRun(runId: string): Promise<ProvisioningRunRecord | undefined> {
    const answer = await this.guard(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PK]: RUNS_PARTITION, [SK]: runId },
          ConsistentRead: true,
        }),
      ),
    );
    return recordOf(answer.Item);
  }

  async last(): Promise<ProvisioningRunRecord | undefined> {
    const answer = await this.guard(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :runs",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":runs": RUNS_PARTITION },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    return recordOf(answer.Items?.[0]);
  }

  /** A conditional write: false when its condition refused it, any other failure thrown. */
  private async conditionally(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.guard(write);
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isTransientSdkError(error)) {
        throw new ProvisioningStoreUnavailableError(
          `the provisioning store (DynamoDB table ${this.tableName}) is unavailable for now: try again`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

const RUNS_PARTITION = "PROV#RUNS";
const LOCK_KEY = { [PK]: "PROV#LOCK", [SK]: "LOCK" } as const;

function runItem(record: ProvisioningRunRecord): Record<string, unknown> {
  return { [PK]: RUNS_PARTITION, [SK]: record.runId, body: JSON.stringify(record) };
}

function recordOf(item: Record<string, unknown> | undefined): ProvisioningRunRecord | undefined {
  return typeof item?.body === "string" ? (JSON.parse(item.body) as ProvisioningRunRecord) : undefined;
}
