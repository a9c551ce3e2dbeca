export * from "./catalog";
export { createEvent, type EventPublisher } from "./create";
export { EVENT_DOCS, eventJsonSchemas, eventSchemaFileName, eventSchemaId } from "./json-schema";
