export { SqliteAlertStore } from "./sqlite-alert-store";
export { SqliteRunLedger } from "./sqlite-ledger";
