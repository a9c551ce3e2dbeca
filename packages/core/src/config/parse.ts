import type * as z from "zod";
import { ConfigError, type ConfigIssue } from "../errors";
import { pipelineBoundsIssues } from "../pipeline/bounds";
import { scheduleHorizonProblem } from "../schedule/horizon";
import { formatPath, type IssueWording, issuesAsMessages } from "../zod-messages";
import { alertsIssues } from "./alerts-schema";
import { hostingIssues } from "./hosting-schema";
import { toPlainData } from "./plain-data";
import { provisioningIssues } from "./provisioning-schema";
import { configSchema, type TapestryConfig, type TapestryConfigInput } from "./schema";
import { warehouseIssues } from "./warehouse-schema";

export { formatPath } from "../zod-messages";

/** Identity at run time; gives `tapestry.config.ts` types and editor completion. */
export function defineConfig(config: TapestryConfigInput): TapestryConfigInput {
  return config;
}

export interface ParseConfigOptions {
  /** The clock a schedule that fires only in the past is judged against (default: now). */
  readonly now?: Date;
  /**
   * false: do not judge schedules against the clock, only refuse those that never fire at all. For
   * a config that was checked when it was deployed (the deployed functions read it again later,
   * when a schedule with a year field may have ended, and must still run its pipelines' steps).
   */
  readonly judgeSchedulesAgainstClock?: boolean;
}

const CONFIG_WORDING: IssueWording = { describeInput: true };

/**
 * Parses and checks a configuration. Throws ConfigError listing every problem, each with its
 * path (`pipelines[0].stages[1].steps[0].jobId`) and what to do about it. Only the input's own
 * data is read (see plain-data.ts): a getter is never called, a prototype never consulted.
 */
export function parseConfig(
  input: unknown,
  source?: string,
  options: ParseConfigOptions = {},
): TapestryConfig {
  const plain = toPlainData(input);
  if (plain.issues.length > 0) throw new ConfigError(plain.issues, source);
  const result = configSchema.safeParse(plain.value, { reportInput: true, error: plainTypeError });
  if (!result.success) {
    const issues = issuesAsMessages(result.error.issues, CONFIG_WORDING).map((issue) =>
      plain.inheritedPaths.has(issue.path) && issue.message.startsWith("is required")
        ? {
            ...issue,
            message: `${issue.message} (the object only inherits it through its prototype, which a config does not read: set it on the object itself)`,
          }
        : issue,
    );
    throw new ConfigError(issues, source);
  }
  const laterIssues = [
    ...checkCrossReferences(result.data),
    ...checkSchedules(result.data, options),
    ...pipelineBoundsIssues(result.data),
    ...alertsIssues(result.data, options.now),
    ...warehouseIssues(result.data.warehouse),
    ...provisioningIssues(result.data),
    ...hostingIssues(result.data),
  ];
  if (laterIssues.length > 0) throw new ConfigError(laterIssues, source);
  return result.data;
}

/** Fallback wording for schemas that carry no message of their own (zod's default reads "Invalid input: ..."). */
function plainTypeError(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  const article = /^[aeiou]/.test(issue.expected) ? "an" : "a";
  return `expected ${article} ${issue.expected === "array" ? "list" : issue.expected}`;
}

/** Schedules that can never fire again, or never at all, at their expression's path. */
function checkSchedules(config: TapestryConfig, options: ParseConfigOptions): ConfigIssue[] {
  const now = options.now ?? new Date();
  const judgePast = options.judgeSchedulesAgainstClock ?? true;
  // evaluated once per distinct schedule: many pipelines share one (e.g. daily at 06:00 UTC)
  const verdicts = new Map<string, string | undefined>();
  return config.pipelines.flatMap((pipeline, p) => {
    const { expression, timezone } = pipeline.schedule;
    const key = `${expression} ${timezone}`;
    if (!verdicts.has(key))
      verdicts.set(key, scheduleHorizonProblem({ expression, timezone }, { now, judgePast }));
    const problem = verdicts.get(key);
    return problem
      ? [{ path: formatPath(["pipelines", p, "schedule", "expression"]), message: problem }]
      : [];
  });
}

/** Rules that span several fields: unique names, declared tools, polls shorter than timeouts. */
function checkCrossReferences(config: TapestryConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const pipelines = uniqueNames("pipeline", "pipeline names must be unique", issues);
  config.pipelines.forEach((pipeline, p) => {
    pipelines(pipeline.name, ["pipelines", p]);
    const stages = uniqueNames("stage", "stage names must be unique within a pipeline", issues);
    const steps = uniqueNames("step", "step names must be unique within a pipeline", issues);
    pipeline.stages.forEach((stage, s) => {
      stages(stage.name, ["pipelines", p, "stages", s], 2);
      stage.steps.forEach((step, t) => {
        const here = ["pipelines", p, "stages", s, "steps", t];
        steps(step.name, here, 2);
        if (!config.tools[step.tool]) {
          issues.push({
            path: formatPath([...here, "tool"]),
            message: `uses "${step.tool}" but ${formatPath(["tools", step.tool])} is not declared: add its endpoint and secret names under tools`,
          });
        }
        if (step.pollIntervalSeconds >= step.timeoutMinutes * 60) {
          issues.push({
            path: formatPath([...here, "pollIntervalSeconds"]),
            message: `a poll every ${step.pollIntervalSeconds} s never observes a job that times out after ${step.timeoutMinutes} min: make pollIntervalSeconds shorter than timeoutMinutes`,
          });
        }
      });
    });
  });
  return issues;
}

/**
 * Records each name's first place; a name seen again adds an issue at its `name` naming the first
 * place (written from `relativeFrom` path parts on, e.g. `stages[0].steps[1]` within a pipeline).
 */
function uniqueNames(kind: string, rule: string, issues: ConfigIssue[]) {
  const first = new Map<string, readonly (string | number)[]>();
  return (name: string, place: readonly (string | number)[], relativeFrom = 0): void => {
    const seen = first.get(name);
    if (seen === undefined) {
      first.set(name, place.slice(relativeFrom));
      return;
    }
    issues.push({
      path: formatPath([...place, "name"]),
      message: `duplicate ${kind} name "${name}" (also ${formatPath(seen)}): ${rule}`,
    });
  };
}
