export { SqliteAlertStore } from "./sqlite-alert-store";
export { SqliteRunLedger } from "./sqlite-ledger";
export { SqliteTaskTokenStore } from "./sqlite-task-token-store";
