import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ProvisioningStoreUnavailableError } from "../../provisioning/errors";
import type { StackTool } from "../../provisioning/stacks/cloudformation";
import {
  type ToolStackRecord,
  type ToolStackRecords,
  toolStackRecordSchema,
} from "../../provisioning/stacks/records";
import { LEDGER_TABLE } from "./ledger-table";
import { isTransientSdkError } from "./sdk-errors";

const PK = LEDGER_TABLE.partitionKey;
const SK = LEDGER_TABLE.sortKey;
/** One partition for a stage's (at most two) tool stacks: `STACK#TOOLS` / `<tool>`. */
const PARTITION = "STACK#TOOLS";

/**
 * The tool stacks' records in the ledger's DynamoDB table, beside the run ledger's items and never
 * mixed with them (partition `STACK#TOOLS`, one item per tool). No TTL: a record lasts as long as
 * its stack (and says it is gone after a delete).
 */
export class DynamoDbToolStackRecords implements ToolStackRecords {
  constructor(
    private readonly options: { readonly client: DynamoDBDocumentClient; readonly tableName: string },
  ) {}

  async get(tool: StackTool): Promise<ToolStackRecord | undefined> {
    const answer = await this.guard(() =>
      this.options.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { [PK]: PARTITION, [SK]: tool },
          ConsistentRead: true,
        }),
      ),
    );
    return recordOf(answer.Item);
  }

  async put(record: ToolStackRecord): Promise<void> {
    await this.guard(() =>
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { [PK]: PARTITION, [SK]: record.tool, body: JSON.stringify(record) },
        }),
      ),
    );
  }

  async list(): Promise<readonly ToolStackRecord[]> {
    const answer = await this.guard(() =>
      this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: "#pk = :p",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":p": PARTITION },
          ConsistentRead: true,
        }),
      ),
    );
    return (answer.Items ?? []).flatMap((item) => {
      const record = recordOf(item);
      return record ? [record] : [];
    });
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isTransientSdkError(error)) {
        throw new ProvisioningStoreUnavailableError(
          `the tool stacks' records (DynamoDB table ${this.options.tableName}) are unavailable for now: try again`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

function recordOf(item: Record<string, unknown> | undefined): ToolStackRecord | undefined {
  return typeof item?.body === "string" ? toolStackRecordSchema.parse(JSON.parse(item.body)) : undefined;
}
