export * from "./catalog";
export { createEvent, type EventPublisher } from "./create";
