/** The tools Tapestry can host itself (issue 11): each is one CloudFormation stack. */
export const SELF_HOSTABLE_TOOLS = ["airbyte", "grouparoo"] as const;
export type SelfHostableTool = (typeof SELF_HOSTABLE_TOOLS)[number];

/**
 * The dimension the Airbyte host's CloudWatch agent adds to its CPU, memory and disk metrics (and
 * rolls them up by), valued with the tool stack's name: the Alerts stack alarms on it at deploy
 * time, before the host (and its instance id) exists.
 */
export const TOOL_HOST_DIMENSION = "ToolHost";

/**
 * A tool stack's name: fixed by stage and tool, so a re-run finds the stack it made (create or
 * update by name) and the deployer's grant can name it. Not an SST stack: the provision state
 * machine deploys it (ADR 0022).
 */
export function toolStackName(stage: string, tool: SelfHostableTool): string {
  return `tapestry-${stage}-${tool}`;
}
