import type {
  CloudFormationStacks,
  StackResourceEvent,
  StackState,
  StackTemplate,
  StackTool,
} from "@tapestry/core/provisioning/stacks";

/**
 * The embedded control plane's "CloudFormation": a self-hosted tool's stack is its sandbox (or the
 * tool run with --real), already started by the control plane, and the stack's Url output is the
 * URL it answers at. The provision and deprovision state machines run the same tool-stack tasks
 * over it as over CloudFormation on AWS, so the flow and its events are the same (ADR 0023). A
 * "stack" lives as long as the process: a restart creates it again, which changes nothing.
 */
export function localToolStacks(urls: Partial<Readonly<Record<StackTool, string>>>): {
  readonly cfn: CloudFormationStacks;
  readonly templates: Partial<Readonly<Record<StackTool, StackTemplate>>>;
} {
  const stacks = new Map<string, { state: StackState; events: StackResourceEvent[] }>();
  const toolOf = new Map<string, StackTool>();
  const templates: Partial<Record<StackTool, StackTemplate>> = {};
  for (const [tool, url] of Object.entries(urls) as [StackTool, string][]) {
    const stackName = `tapestry-local-${tool}`;
    toolOf.set(stackName, tool);
    templates[tool] = { stackName, templateUrl: `sandbox:${tool}`, parameters: { Url: url } };
  }
  const outputsOf = (template: StackTemplate) => {
    const url = template.parameters.Url ?? "";
    return { Url: url, LoadBalancerDnsName: new URL(url).host, HttpOnly: String(url.startsWith("http:")) };
  };
  const event = (logicalId: string, status: string): StackResourceEvent => ({
    timestamp: new Date().toISOString(),
    logicalId,
    resourceType: "Tapestry::Local::Sandbox",
    status,
  });
  return {
    templates,
    cfn: {
      describe: async (stackName) => stacks.get(stackName)?.state,
      create: async (template) => {
        stacks.set(template.stackName, {
          state: { stackId: template.stackName, status: "CREATE_COMPLETE", outputs: outputsOf(template) },
          events: [event(toolOf.get(template.stackName) ?? template.stackName, "CREATE_COMPLETE")],
        });
      },
      update: async (template) => {
        const stack = stacks.get(template.stackName);
        const outputs = outputsOf(template);
        if (stack && stack.state.outputs.Url === outputs.Url) return "no-changes";
        stacks.set(template.stackName, {
          state: { stackId: template.stackName, status: "UPDATE_COMPLETE", outputs },
          events: [
            ...(stack?.events ?? []),
            event(toolOf.get(template.stackName) ?? template.stackName, "UPDATE_COMPLETE"),
          ],
        });
        return "updating";
      },
      delete: async (stackName) => {
        stacks.delete(stackName);
      },
      events: async (stackName, since) =>
        (stacks.get(stackName)?.events ?? []).filter((e) => e.timestamp >= since),
    },
  };
}
