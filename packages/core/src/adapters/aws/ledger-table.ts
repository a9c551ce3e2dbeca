/**
 * The run ledger's DynamoDB table: one table, keyed `pk`/`sk`, with one global secondary index
 * that lists a pipeline's runs newest first. The Ledger stack creates it from these names and the
 * DynamoDB adapter reads and writes by them, so the two cannot drift apart.
 */
export const LEDGER_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  /** epoch seconds; DynamoDB deletes expired run locks some time after this (the adapter never relies on it) */
  timeToLiveAttribute: "ttl",
  runsByPipelineIndex: {
    name: "runsByPipeline",
    partitionKey: "gsi1pk",
    sortKey: "gsi1sk",
  },
} as const;
