/** The run ledger on DynamoDB (TAPESTRY_LEDGER_TABLE), for the functions that read or write runs. */
import { DynamoDbRunLedger } from "@tapestry/core/adapters/aws/dynamodb-ledger";
import type { RunLedger } from "@tapestry/core/ledger";
import { documentClient } from "./dynamodb";
import { env, once } from "./environment";

export const runLedger = once(
  (): RunLedger =>
    new DynamoDbRunLedger({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/** A ledger that only records, built when the first event arrives. */
export function deferredLedgerRecorder(): Pick<RunLedger, "record"> {
  return { record: async (event) => runLedger().record(event) };
}
