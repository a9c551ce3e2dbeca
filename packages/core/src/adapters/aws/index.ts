/**
 * The AWS adapters of core's ports: the only place in core that imports the AWS SDK.
 * Deployed Lambda entry points (functions/aws) and the CLI build them; nothing else does.
 */

export { CloudFormationToolStacks } from "./cloudformation-stacks";
export {
  AlertStoreContendedError,
  DynamoDbAlertStore,
  type DynamoDbAlertStoreOptions,
  RESOLVED_INCIDENT_RETENTION_DAYS,
} from "./dynamodb-alert-store";
export { DynamoDbRunLedger, type DynamoDbRunLedgerOptions } from "./dynamodb-ledger";
export { DynamoDbProvisioningRuns } from "./dynamodb-provisioning-runs";
export { DynamoDbTaskTokenStore, type DynamoDbTaskTokenStoreOptions } from "./dynamodb-task-token-store";
export { DynamoDbToolStackRecords } from "./dynamodb-tool-stack-records";
export { EventBridgePublisher, type EventBridgePublisherOptions } from "./eventbridge-publisher";
export { LEDGER_TABLE } from "./ledger-table";
export { s3GrouparooSink } from "./s3-grouparoo-sink";
export {
  InvalidSecretValueError,
  type SecretListing,
  SecretStoreError,
  SsmSecretStore,
} from "./secret-store";
export { SsmPrivateKeyStore } from "./ssm-private-key-store";
export {
  provisionedObjectParameterName,
  provisionedObjectsPath,
  SsmProvisionedObjects,
  ssmConnectionIds,
} from "./ssm-provisioned-objects";
export { createSsmSecretReader, type SsmSecretReaderOptions, secretParameterName } from "./ssm-secrets";
export { StepFunctionsDeprovisioningStarter } from "./step-functions-deprovisioning-starter";
export { StepFunctionsProvisioningStarter } from "./step-functions-provisioning-starter";
export {
  StepFunctionsRunController,
  type StepFunctionsRunControllerOptions,
} from "./step-functions-run-controller";
export { StepFunctionsTaskTokens, type StepFunctionsTaskTokensOptions } from "./step-functions-task-tokens";
