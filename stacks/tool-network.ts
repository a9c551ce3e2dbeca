import { selfHostedTools, type TapestryConfig } from "@tapestry/core/config";
import type { StackContext } from "sst/constructs";
import { useDeployment } from "./deployment";
import { createToolNetwork } from "./tools/network";

/**
 * The network of the self-hosted tools (issue 11), in the SST app because the control plane's
 * tool-facing functions sit in its private subnets: the tools' load balancers admit the NAT
 * gateways' addresses, and a Lambda outside a VPC has none of its own. Its own stack, before
 * Pipelines, so the functions of Pipelines, Provisioning and StatusApi can use it, and so a VPC
 * change never touches the ledger's or the bus's stack. Added to the app only when a tool is
 * self-hosted (`toolNetworkWanted`): the app of a config without one is what it was (ADR 0022).
 */
export function ToolNetwork({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const network = createToolNetwork(stack, deployment);
  if (!network) throw new Error("the ToolNetwork stack was added for a config that self-hosts no tool");
  stack.addOutputs({
    ToolVpcId: network.vpc.vpcId,
    ToolEgressCidrs: network.egressCidrs.join(","),
  });
  return { network };
}

/** Whether the app gets the ToolNetwork stack: only when the config self-hosts a tool. */
export function toolNetworkWanted(config: TapestryConfig): boolean {
  return selfHostedTools(config).length > 0;
}
