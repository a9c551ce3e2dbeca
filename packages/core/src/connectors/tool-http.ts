import type { ToolName } from "../errors";
import { type AuthProvider, HttpClient } from "../http";
import type { ConnectorDependencies } from "./types";

/** The shared HTTP client, set up from a tool's config block and the connector's dependencies. */
export function toolHttpClient(
  tool: ToolName,
  config: { readonly baseUrl: string; readonly requestTimeoutSeconds: number },
  deps: ConnectorDependencies,
  auth: AuthProvider,
): HttpClient {
  return new HttpClient({
    tool,
    baseUrl: config.baseUrl,
    timeoutMs: config.requestTimeoutSeconds * 1000,
    auth,
    retry: deps.retry,
    logger: deps.logger,
    random: deps.random,
    sleep: deps.sleep,
    now: deps.now,
  });
}
