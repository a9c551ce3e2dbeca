/**
 * The DynamoDB client of the functions that use the ledger's table (the run ledger, task tokens,
 * incidents, the notifier's idempotency records): one per container, whichever of them it serves.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { once } from "./environment";

// Default credential and region chain: the Lambda's role and region.
export const dynamoDbClient = once(() => new DynamoDBClient({}));
export const documentClient = once(() => DynamoDBDocumentClient.from(dynamoDbClient()));
