/** Lambda behind the status API's HTTP API (payload format 2.0, IAM authorization). */
import { createStatusApiHandler, type StatusApiHandler } from "../api/status-api";
import { statusApiDeps } from "./runtime";

// Built on the first request, kept for the container: the config, the ledger table and the state
// machine are read then, so a missing one fails that request by name rather than the cold start.
let built: StatusApiHandler | undefined;

export const handler: StatusApiHandler = async (event, context) => {
  built ??= createStatusApiHandler(statusApiDeps());
  return built(event, context);
};
