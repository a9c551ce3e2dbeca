export { SqliteAlertStore } from "./sqlite-alert-store";
export { SqliteRunLedger } from "./sqlite-ledger";
export { SqliteProvisioningStore } from "./sqlite-provisioning-store";
export { SqliteTaskTokenStore } from "./sqlite-task-token-store";
export { SqliteToolStackRecords } from "./sqlite-tool-stack-records";
