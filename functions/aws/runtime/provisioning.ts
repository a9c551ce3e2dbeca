/**
 * What every task of the provision state machine reads: the bundled config, its runs and lock as
 * `PROV#` items of the ledger's table, the bus.
 */
import { DynamoDbProvisioningRuns } from "@tapestry/core/adapters/aws/dynamodb-provisioning-runs";
import type { ProvisioningDeps, ProvisioningRuns } from "@tapestry/core/provisioning";
import { coreLogger } from "../../powertools";
import { deferredEventPublisher } from "./bus";
import { tapestryConfig } from "./config";
import { documentClient } from "./dynamodb";
import { env, once } from "./environment";
import { logger } from "./powertools";

const provisioningRuns = once(
  (): ProvisioningRuns =>
    new DynamoDbProvisioningRuns({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/** The runs and the lock, built (table name read) at the first call. */
export function deferredProvisioningRuns(): ProvisioningRuns {
  return {
    begin: async (record, expiresAt) => provisioningRuns().begin(record, expiresAt),
    save: async (record) => provisioningRuns().save(record),
    release: async (runId) => provisioningRuns().release(runId),
    getRun: async (runId) => provisioningRuns().getRun(runId),
    last: async () => provisioningRuns().last(),
  };
}

/** What every provision task reads: the bundled config, its runs, the bus. */
export function provisioningDeps(): ProvisioningDeps {
  return {
    config: tapestryConfig(),
    runs: deferredProvisioningRuns(),
    publisher: deferredEventPublisher(),
    now: () => new Date(),
    logger: coreLogger(logger()),
  };
}
