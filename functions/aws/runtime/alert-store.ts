/** The incidents, in the run ledger's table under ALERT# keys (TAPESTRY_LEDGER_TABLE): the alert functions and the status API. */
import { DynamoDbAlertStore } from "@tapestry/core/adapters/aws/dynamodb-alert-store";
import type { AlertStore } from "@tapestry/core/alerts";
import { documentClient } from "./dynamodb";
import { env, once } from "./environment";

export const alertStore = once(
  (): AlertStore =>
    new DynamoDbAlertStore({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);
