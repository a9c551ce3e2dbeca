/** Airbyte, configured as code: the connectors Tapestry knows and their official schemas. */

export {
  AirbyteConfigClient,
  type ConnectionAnswer,
  type DestinationAnswer,
  type SourceAnswer,
  type WorkspaceAnswer,
} from "./client";
export {
  AIRBYTE_DESTINATION_TYPES,
  AIRBYTE_SOURCE_TYPES,
  AIRBYTE_SYNC_MODES,
  type ConnectorKind,
  type ConnectorSpec,
  connectorSpec,
  typeField,
} from "./connectors";
export {
  type DesiredActor,
  type DesiredAirbyteState,
  type DesiredConnection,
  desiredAirbyteState,
  secretsHash,
} from "./desired";
export { type EnsureAirbyteDeps, type EnsuredObject, ensureAirbyteObjects, settingsChanges } from "./ensure";
