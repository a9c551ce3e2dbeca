export * from "./catalog";
export { createEvent, type EventPublisher } from "./create";
export { type BusEnvelope, eventFromEnvelope, InvalidEventError } from "./envelope";
export { factKey, isReconciled } from "./fact-key";
export {
  EVENT_DOCS,
  eventJsonSchemas,
  eventRegistrySchemas,
  eventSchemaFileName,
  eventSchemaId,
  type RegistryEventSchema,
} from "./json-schema";
