/** Lambda target of the bus rule `source: tapestry.pipeline`: records each event in the DynamoDB run ledger. */
import { createProjectEventHandler } from "../ledger/project-event";
import { deferredLedgerRecorder } from "./runtime/ledger";
import { logger } from "./runtime/powertools";

export const handler = createProjectEventHandler({ ledger: deferredLedgerRecorder(), logger: logger() });
