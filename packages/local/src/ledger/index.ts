export { SqliteRunLedger } from "./sqlite-ledger";
export { SqliteProvisioningStore } from "./sqlite-provisioning-store";
