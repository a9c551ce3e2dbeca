export { SqliteRunLedger } from "./sqlite-ledger";
export { SqliteTaskTokenStore } from "./sqlite-task-token-store";
