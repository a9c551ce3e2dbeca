/**
 * What the Slack notifier has sent: Powertools Idempotency records in the ledger's table
 * (TAPESTRY_LEDGER_TABLE, `pk` ALERT#NOTIFIED), kept 7 days, so that each notification key is
 * delivered once: a redelivered event finds its record and posts nothing.
 */
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { Notification } from "@tapestry/core/alerts";
import type { OnceByKey } from "../../alerts";
import { dynamoDbClient } from "./dynamodb";
import { env, once } from "./environment";

const notificationRecords = once(
  () =>
    new DynamoDBPersistenceLayer({
      tableName: env("TAPESTRY_LEDGER_TABLE"),
      keyAttr: "pk",
      sortKeyAttr: "sk",
      staticPkValue: "ALERT#NOTIFIED",
      expiryAttr: "ttl",
      awsSdkV3Client: dynamoDbClient(),
    }),
);

export const onceByKey: OnceByKey = (deliver) => {
  const config = new IdempotencyConfig({ eventKeyJmesPath: "key", expiresAfterSeconds: 7 * 86_400 });
  const idempotent = once(() =>
    makeIdempotent(async (notification: Notification, deadline: number) => deliver(notification, deadline), {
      persistenceStore: notificationRecords(),
      config,
    }),
  );
  return async (notification, context, deadline) => {
    config.registerLambdaContext(context);
    return idempotent()(notification, deadline);
  };
};
