/** Airbyte, configured as code: the connectors Tapestry knows and their official schemas. */
export {
  AIRBYTE_DESTINATION_TYPES,
  AIRBYTE_SOURCE_TYPES,
  AIRBYTE_SYNC_MODES,
  type ConnectorKind,
  type ConnectorSpec,
  connectorSpec,
  typeField,
} from "./connectors";
