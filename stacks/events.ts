import { EVENT_SOURCES, eventRegistrySchemas } from "@tapestry/core/events";
import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { Archive, CfnArchive, EventBus, type IEventBus } from "aws-cdk-lib/aws-events";
import { CfnRegistry, CfnSchema } from "aws-cdk-lib/aws-eventschemas";
import type { StackContext } from "sst/constructs";
import { type Deployment, useDeployment } from "./deployment";

/**
 * The event bus every pipeline event goes through, its archive (for replay into a rebuilt ledger)
 * and the event catalog registered as schemas, so consumers can discover and generate bindings.
 */
export function Events({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const bus = deployment.adoptRetainedData
    ? EventBus.fromEventBusName(stack, "Bus", deployment.names.bus)
    : busWithArchive(stack, deployment);
  deployment.publishers.useBus(bus);

  const registry = new CfnRegistry(stack, "Schemas", {
    registryName: deployment.prefix,
    description: `Tapestry's event catalog (sources ${EVENT_SOURCES.join(", ")}), one schema per detail-type`,
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

  stack.addOutputs({
    EventBusName: bus.eventBusName,
    EventArchiveName: deployment.names.archive,
    SchemaRegistryName: registry.attrRegistryName,
  });
  return { bus };
}

/**
 * A new bus and its archive. A prod-like stage keeps both when its stack goes away: an archive
 * fills through a rule EventBridge manages on its source bus, its source cannot be changed, and
 * nothing documents that a new bus of the same name gets that rule back, so the bus stays with
 * its archive (a redeploy adopts both by name: docs/adr/0008).
 */
function busWithArchive(stack: Stack, deployment: Deployment): IEventBus {
  const keep = deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  const bus = new EventBus(stack, "Bus", { eventBusName: deployment.names.bus });
  bus.applyRemovalPolicy(keep);

  const archive = new Archive(stack, "Archive", {
    sourceEventBus: bus,
    archiveName: deployment.names.archive,
    description: `Every Tapestry event of stage ${deployment.stage}, for replay`,
    // every source of the catalog: pipeline runs and provisioning runs alike
    eventPattern: { source: [...EVENT_SOURCES] },
    retention: Duration.days(deployment.aws.eventArchiveRetentionDays),
  });
  archive.applyRemovalPolicy(keep);
  // aws-cdk-lib 2.224 writes KmsKeyIdentifier: "" when no key is given, which some regions refuse;
  // absent, the archive uses an AWS owned key, as "" was meant to say
  for (const resource of archive.node.children) {
    if (resource instanceof CfnArchive) resource.kmsKeyIdentifier = undefined;
  }
  return bus;
}
