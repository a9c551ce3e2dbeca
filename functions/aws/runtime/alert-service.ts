/**
 * The alert service of the evaluator and the freshness check: the bundled pipelines, the ledger
 * (read), the incidents, the bus. The rows anomaly rule is CloudWatch's on AWS (`anomaly: "alarm"`).
 */
import type { AlertServiceDeps } from "@tapestry/core/alerts";
import { alertStore } from "./alert-store";
import { deferredEventPublisher } from "./bus";
import { tapestryConfig } from "./config";
import { runLedger } from "./ledger";

/** Called on the invocation that needs it: it reads the bundled config and the table's name. */
export function alertServiceDeps(): Omit<AlertServiceDeps, "logger"> {
  return {
    config: tapestryConfig(),
    ledger: {
      listEvents: async (runId) => runLedger().listEvents(runId),
      listRuns: async (pipeline, page) => runLedger().listRuns(pipeline, page),
      latestRuns: async (pipelines) => runLedger().latestRuns(pipelines),
    },
    store: alertStore(),
    publisher: deferredEventPublisher(),
    now: () => new Date(),
    anomaly: "alarm",
  };
}
