/** Lambda target of the bus rule `source: tapestry.pipeline`: records each event in the DynamoDB run ledger. */
import { createProjectEventHandler } from "../ledger/project-event";
import { deferredLedgerRecorder, logger } from "./runtime";

export const handler = createProjectEventHandler({ ledger: deferredLedgerRecorder(), logger: logger() });
