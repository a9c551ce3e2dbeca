export { SqliteRunLedger } from "./sqlite-ledger";
