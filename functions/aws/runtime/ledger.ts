/** The run ledger on DynamoDB (TAPESTRY_LEDGER_TABLE): the DynamoDB client, for the functions that read or write runs. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoDbRunLedger } from "@tapestry/core/adapters/aws/dynamodb-ledger";
import type { RunLedger } from "@tapestry/core/ledger";
import { env, once } from "./environment";

// One client per container, default credential and region chain (the Lambda's role and region).
const documentClient = once(() => DynamoDBDocumentClient.from(new DynamoDBClient({})));

export const runLedger = once(
  (): RunLedger =>
    new DynamoDbRunLedger({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/** A ledger that only records, built when the first event arrives. */
export function deferredLedgerRecorder(): Pick<RunLedger, "record"> {
  return { record: async (event) => runLedger().record(event) };
}
