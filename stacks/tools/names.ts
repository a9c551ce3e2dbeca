/** The tools Tapestry can host itself (issue 11): each is one CloudFormation stack. */
export const SELF_HOSTABLE_TOOLS = ["airbyte", "grouparoo"] as const;
export type SelfHostableTool = (typeof SELF_HOSTABLE_TOOLS)[number];

/**
 * A tool stack's name: fixed by stage and tool, so a re-run finds the stack it made (create or
 * update by name) and the deployer's grant can name it. Not an SST stack: the provision state
 * machine deploys it (ADR 0022).
 */
export function toolStackName(stage: string, tool: SelfHostableTool): string {
  return `tapestry-${stage}-${tool}`;
}
