/** The Tapestry event bus (TAPESTRY_EVENT_BUS): the EventBridge client, for the functions that publish. */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { EventBridgePublisher } from "@tapestry/core/adapters/aws/eventbridge-publisher";
import type { EventPublisher } from "@tapestry/core/events";
import { env, once } from "./environment";

export const eventPublisher = once(
  (): EventPublisher =>
    new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: env("TAPESTRY_EVENT_BUS") }),
);

/** A publisher that builds the EventBridge one when the first event is put. */
export function deferredEventPublisher(): EventPublisher {
  return { publish: async (events) => eventPublisher().publish(events) };
}
