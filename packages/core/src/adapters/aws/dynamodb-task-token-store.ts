import { type DynamoDBDocumentClient, UpdateCommand, type UpdateCommandOutput } from "@aws-sdk/lib-dynamodb";
import { LedgerUnavailableError } from "../../errors";
import {
  type JobKey,
  type TaskTokenStore,
  TOKEN_RECORD_RETENTION_MS,
  type TokenRecord,
  type TokenRegistration,
} from "../../webhooks/store";
import { LEDGER_TABLE } from "./ledger-table";

export interface DynamoDbTaskTokenStoreOptions {
  readonly client: DynamoDBDocumentClient;
  /** the run ledger's table: the store's items live beside the ledger's, under their own keys */
  readonly tableName: string;
}

const PK = LEDGER_TABLE.partitionKey;
const SK = LEDGER_TABLE.sortKey;
const TTL = LEDGER_TABLE.timeToLiveAttribute;
const SORT_KEY = "TOKEN";

/** DynamoDB's "not now" answers (as the ledger's adapter reads them): retried by name as LedgerUnavailableError. */
const TRANSIENT_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
]);

/**
 * Attribute names in expressions are placeholders: several are DynamoDB reserved words (TOKEN,
 * INPUT, TTL), and the placeholders keep every expression readable the same way.
 */
const NAMES = {
  "#token": "token",
  "#input": "input",
  "#registeredAt": "registeredAt",
  "#expiresAt": "expiresAt",
  "#deliveredAt": "deliveredAt",
  "#deliveries": "deliveries",
  "#claimToken": "claimToken",
  "#claimUntil": "claimUntil",
  "#doneToken": "doneToken",
  "#ttl": TTL,
} as const;

type Name = keyof typeof NAMES;
const names = (...used: Name[]) => Object.fromEntries(used.map((name) => [name, NAMES[name]]));

/**
 * The task-token store on the run ledger's DynamoDB table, one item per job:
 * `TOKEN#<tool>#<externalId>` / `TOKEN`, with a TTL a day past its last use (logic reads
 * `expiresAt`, never the TTL). Each operation is one UpdateItem, atomic for the item: a delivery
 * and a registration racing each other always see one another (ReturnValues), and a claim is a
 * conditional write that only one completer of a token wins.
 */
export class DynamoDbTaskTokenStore implements TaskTokenStore {
  constructor(private readonly options: DynamoDbTaskTokenStoreOptions) {}

  async register(key: JobKey, registration: TokenRegistration): Promise<TokenRecord | undefined> {
    const answer = await this.update(key, {
      UpdateExpression:
        "SET #token = :token, #input = :input, #registeredAt = :now, #expiresAt = :expiresAt, #deliveries = if_not_exists(#deliveries, :zero), #ttl = :ttl",
      ExpressionAttributeNames: names(
        "#token",
        "#input",
        "#registeredAt",
        "#expiresAt",
        "#deliveries",
        "#ttl",
      ),
      ExpressionAttributeValues: {
        ":token": registration.token,
        ":input": registration.input,
        ":now": registration.now,
        ":expiresAt": registration.expiresAt,
        ":zero": 0,
        ":ttl": ttlAfter(registration.expiresAt),
      },
      ReturnValues: "ALL_OLD",
    });
    return answer.Attributes ? recordOf(answer.Attributes) : undefined;
  }

  async recordDelivery(key: JobKey, now: string): Promise<TokenRecord> {
    const answer = await this.update(key, {
      UpdateExpression: "SET #deliveredAt = :now, #ttl = :ttl ADD #deliveries :one",
      ExpressionAttributeNames: names("#deliveredAt", "#ttl", "#deliveries"),
      ExpressionAttributeValues: { ":now": now, ":one": 1, ":ttl": ttlAfter(now) },
      ReturnValues: "ALL_NEW",
    });
    return recordOf(answer.Attributes ?? {});
  }

  async claim(key: JobKey, token: string, now: string, until: string): Promise<boolean> {
    return this.conditionally(() =>
      this.update(key, {
        UpdateExpression: "SET #claimToken = :token, #claimUntil = :until",
        ConditionExpression:
          "#token = :token AND (attribute_not_exists(#doneToken) OR #doneToken <> :token) AND (attribute_not_exists(#claimToken) OR #claimToken <> :token OR #claimUntil < :now)",
        ExpressionAttributeNames: names("#token", "#doneToken", "#claimToken", "#claimUntil"),
        ExpressionAttributeValues: { ":token": token, ":until": until, ":now": now },
      }),
    );
  }

  async release(key: JobKey, token: string): Promise<void> {
    await this.conditionally(() =>
      this.update(key, {
        UpdateExpression: "REMOVE #claimToken, #claimUntil",
        ConditionExpression: "#claimToken = :token",
        ExpressionAttributeNames: names("#claimToken", "#claimUntil"),
        ExpressionAttributeValues: { ":token": token },
      }),
    );
  }

  async complete(key: JobKey, token: string): Promise<void> {
    await this.update(key, {
      UpdateExpression: "SET #doneToken = :token REMOVE #claimToken, #claimUntil",
      ExpressionAttributeNames: names("#doneToken", "#claimToken", "#claimUntil"),
      ExpressionAttributeValues: { ":token": token },
    });
  }

  private async update(
    key: JobKey,
    command: Omit<ConstructorParameters<typeof UpdateCommand>[0], "TableName" | "Key">,
  ): Promise<UpdateCommandOutput> {
    try {
      return await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [PK]: `TOKEN#${key.tool}#${key.externalId}`, [SK]: SORT_KEY },
          ...command,
        }),
      );
    } catch (error) {
      if (error instanceof Error && TRANSIENT_ERRORS.has(error.name)) {
        throw new LedgerUnavailableError(
          `the task-token store (table ${this.options.tableName}) is unavailable for now (${error.name}): try again`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** A conditional write: true when done, false when its condition refused it. */
  private async conditionally(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}

/** Epoch seconds a day past `time`: when DynamoDB may delete the item (some time after). */
function ttlAfter(time: string): number {
  return Math.ceil((Date.parse(time) + TOKEN_RECORD_RETENTION_MS) / 1000);
}

function recordOf(item: Record<string, unknown>): TokenRecord {
  const text = (name: string) => (typeof item[name] === "string" ? (item[name] as string) : undefined);
  const optional = <K extends keyof TokenRecord>(field: K, value: TokenRecord[K] | undefined) =>
    value === undefined ? {} : { [field]: value };
  return {
    ...optional("token", text("token")),
    ...optional("input", text("input")),
    ...optional("registeredAt", text("registeredAt")),
    ...optional("expiresAt", text("expiresAt")),
    ...optional("deliveredAt", text("deliveredAt")),
    deliveries: typeof item.deliveries === "number" ? item.deliveries : 0,
    ...optional("claimToken", text("claimToken")),
    ...optional("claimUntil", text("claimUntil")),
    ...optional("doneToken", text("doneToken")),
  };
}
