/** Lambda behind the status API's HTTP API (payload format 2.0, IAM authorization). */
import { nextFireTime } from "@tapestry/core/schedule";
import { createStatusApiHandler, type StatusApiDeps, type StatusApiHandler } from "../api/status-api";
import { alertStore } from "./runtime/alert-store";
import { deferredEventPublisher } from "./runtime/bus";
import { tapestryConfig } from "./runtime/config";
import { env } from "./runtime/environment";
import { runLedger } from "./runtime/ledger";
import { logger } from "./runtime/powertools";
import { deferredProvisioningRuns } from "./runtime/provisioning";
import { deferredDeprovisioningStarter, deferredProvisioningStarter } from "./runtime/provisioning-starter";
import { deferredRunController } from "./runtime/state-machine";
import { deferredToolStackRecords } from "./runtime/tool-stack-records";

/** The status API's dependencies: the bundled config's pipelines and CORS origins, the ledger, the incidents, Step Functions for manual runs and provisioning. */
export function statusApiDeps(): StatusApiDeps {
  return {
    config: tapestryConfig(),
    corsAllowOrigins: tapestryConfig().aws.statusApi.corsAllowOrigins,
    ledger: runLedger(),
    alerts: alertStore(),
    runs: deferredRunController(),
    bus: deferredEventPublisher(),
    now: () => new Date(),
    nextFireTime: (pipeline, after) => nextFireTime(pipeline.schedule, after),
    logger: logger(),
    provisioning: {
      runs: deferredProvisioningRuns(),
      starter: deferredProvisioningStarter(),
      deprovisionStarter: deferredDeprovisioningStarter(),
      stacks: {
        records: deferredToolStackRecords(),
        // stacks/tools/names.ts toolStackName
        stackNameOf: (tool) => `tapestry-${env("TAPESTRY_STAGE")}-${tool}`,
      },
    },
  };
}

// Built on the first request, kept for the container: the config, the ledger table and the state
// machine are read then, so a missing one fails that request by name rather than the cold start.
let built: StatusApiHandler | undefined;

export const handler: StatusApiHandler = async (event, context) => {
  built ??= createStatusApiHandler(statusApiDeps());
  return built(event, context);
};
