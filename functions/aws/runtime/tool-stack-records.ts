/** The tool stacks' records: `STACK#TOOLS` items of the ledger's table (tool-stack, deprovisioning-run, status-api). */
import { DynamoDbToolStackRecords } from "@tapestry/core/adapters/aws/dynamodb-tool-stack-records";
import type { ToolStackRecords } from "@tapestry/core/provisioning/stacks";
import { documentClient } from "./dynamodb";
import { env, once } from "./environment";

const records = once(
  (): ToolStackRecords =>
    new DynamoDbToolStackRecords({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/** The stacks' records, built (table name read) at the first call. */
export function deferredToolStackRecords(): ToolStackRecords {
  return {
    get: async (tool) => records().get(tool),
    put: async (record) => records().put(record),
    list: async () => records().list(),
  };
}
