export {
  AirbyteConnector,
  airbyteAuth,
  airbyteHttpClient,
  createAirbyteConnector,
} from "./airbyte/connector";
export { describeTrigger } from "./answer";
export { createDbtCloudConnector, DbtCloudConnector } from "./dbt-cloud/connector";
export { createGrouparooConnector, GrouparooConnector } from "./grouparoo/connector";
export { endedOnItsOwn } from "./job-status";
export { ConnectorRegistry, ToolNotConfiguredError } from "./registry";
export type * from "./types";
