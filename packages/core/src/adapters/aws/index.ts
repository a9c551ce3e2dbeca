/**
 * The AWS adapters of core's ports: the only place in core that imports the AWS SDK.
 * Deployed Lambda entry points (functions/aws) and the CLI build them; nothing else does.
 */
export { DynamoDbRunLedger, type DynamoDbRunLedgerOptions } from "./dynamodb-ledger";
export { EventBridgePublisher, type EventBridgePublisherOptions } from "./eventbridge-publisher";
export { LEDGER_TABLE } from "./ledger-table";
export {
  InvalidSecretValueError,
  type SecretListing,
  SecretStoreError,
  SsmSecretStore,
} from "./secret-store";
export { SsmPrivateKeyStore } from "./ssm-private-key-store";
export { createSsmSecretReader, type SsmSecretReaderOptions, secretParameterName } from "./ssm-secrets";
export {
  StepFunctionsRunController,
  type StepFunctionsRunControllerOptions,
} from "./step-functions-run-controller";
