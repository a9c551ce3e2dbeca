import * as z from "zod";
import type { TapestryConfig } from "../../config";
import { STACK_TOOLS, type StackTool } from "./cloudformation";
import { selfHostedTools } from "./hosting";

/**
 * What Tapestry knows of each self-hosted tool's stack, beside the run ledger (shared rule 3):
 * embedded a table of ledger.sqlite, on AWS `STACK#<tool>` items of the ledger's table. Written by
 * the deployer as a deploy ends (deployed, failed) or a delete does; read by GET /stacks.
 */

export const LAST_DEPLOY_OUTCOMES = ["deployed", "failed", "deleted"] as const;
export type LastDeployOutcome = (typeof LAST_DEPLOY_OUTCOMES)[number];

export interface ToolStackRecord {
  readonly tool: StackTool;
  readonly stackName: string;
  /** CloudFormation's status as last seen; null once deleted */
  readonly status: string | null;
  /** its outputs as last deployed (kept after a delete, for the report of what remains) */
  readonly outputs: Readonly<Record<string, string>>;
  /** the stack serves plain HTTP (no certificate): its HttpOnly output */
  readonly httpOnly: boolean;
  readonly lastDeploy: {
    readonly runId: string;
    /** ISO 8601 */
    readonly at: string;
    readonly outcome: LastDeployOutcome;
    readonly reason?: string;
  } | null;
}

export interface ToolStackRecords {
  get(tool: StackTool): Promise<ToolStackRecord | undefined>;
  put(record: ToolStackRecord): Promise<void>;
  list(): Promise<readonly ToolStackRecord[]>;
}

/** A stored record as the stores read it back: parsed, so a damaged one is refused by field. */
export const toolStackRecordSchema = z.object({
  tool: z.enum(STACK_TOOLS),
  stackName: z.string(),
  status: z.string().nullable(),
  outputs: z.record(z.string(), z.string()),
  httpOnly: z.boolean(),
  lastDeploy: z
    .object({
      runId: z.string(),
      at: z.string(),
      outcome: z.enum(LAST_DEPLOY_OUTCOMES),
      reason: z.string().optional(),
    })
    .nullable(),
});

/** The tool stacks GET /stacks answers: every self-hosted tool, with its record (or none yet). */
export async function listToolStacks(
  config: TapestryConfig,
  records: ToolStackRecords,
  stackNameOf: (tool: StackTool) => string,
): Promise<{ readonly stacks: readonly ToolStackRecord[] }> {
  const tools = selfHostedTools(config);
  const known = await records.list();
  return {
    stacks: tools.map(
      (tool) =>
        known.find((r) => r.tool === tool) ?? {
          tool,
          stackName: stackNameOf(tool),
          status: null,
          outputs: {},
          httpOnly: false,
          lastDeploy: null,
        },
    ),
  };
}
