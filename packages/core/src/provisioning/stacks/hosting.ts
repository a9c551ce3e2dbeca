import type { TapestryConfig } from "../../config";
import type { StackTool } from "./cloudformation";

/** The tools the config asks Tapestry to host (provisioning.hosting), in deploy order. */
export function selfHostedTools(config: TapestryConfig): StackTool[] {
  const hosting = config.provisioning?.hosting;
  if (!hosting) return [];
  return (["airbyte", "grouparoo"] as const).filter((tool) => hosting[tool] === "self-hosted");
}
