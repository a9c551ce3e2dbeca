import { EVENT_SOURCE, eventRegistrySchemas } from "@tapestry/core/events";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Archive, EventBus } from "aws-cdk-lib/aws-events";
import { CfnRegistry, CfnSchema } from "aws-cdk-lib/aws-eventschemas";
import type { StackContext } from "sst/constructs";
import { useDeployment } from "./deployment";

/**
 * The event bus every pipeline event goes through, its archive (for replay into a rebuilt ledger)
 * and the event catalog registered as schemas, so consumers can discover and generate bindings.
 */
export function Events({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const bus = new EventBus(stack, "Bus", { eventBusName: deployment.prefix });

  const archive = new Archive(stack, "Archive", {
    sourceEventBus: bus,
    archiveName: deployment.prefix,
    description: `Every Tapestry event of stage ${deployment.stage}, for replay`,
    eventPattern: { source: [EVENT_SOURCE] },
    retention: Duration.days(deployment.aws.eventArchiveRetentionDays),
  });
  archive.applyRemovalPolicy(deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

  const registry = new CfnRegistry(stack, "Schemas", {
    registryName: deployment.prefix,
    description: `Tapestry's event catalog (source ${EVENT_SOURCE}), one schema per detail-type`,
  });
  for (const schema of eventRegistrySchemas()) {
    new CfnSchema(stack, `Schema${schema.detailType}`, {
      registryName: registry.attrRegistryName,
      schemaName: schema.name,
      type: "JSONSchemaDraft4",
      content: schema.content,
      description: `${schema.detailType} v${schema.version}`,
    });
  }

  stack.addOutputs({ EventBusName: bus.eventBusName, SchemaRegistryName: registry.attrRegistryName });
  return { bus };
}
