/**
 * Provisioning (issue 9): the tools configured as code by the `provision` state machine. Airbyte's
 * objects ensured by name (airbyte/), Grouparoo's config files generated (grouparoo/), what was
 * done recorded (store.ts), the state machine's tasks (tasks.ts). The warehouse bootstrap lives in
 * warehouse/ (its own entry point).
 */
export * from "./airbyte";
export * from "./errors";
export * from "./grouparoo/files";
export * from "./grouparoo/write";
export * from "./requests";
export * from "./run-record";
export * from "./secrets";
export * from "./store";
export * from "./task-errors";
export * from "./tasks";
