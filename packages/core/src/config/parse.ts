import type { z } from "zod";
import { ConfigError, type ConfigIssue } from "../errors";
import { pipelineBoundsIssues } from "../pipeline/bounds";
import { configSchema, type TapestryConfig, type TapestryConfigInput } from "./schema";

/** Identity at run time; gives `tapestry.config.ts` types and editor completion. */
export function defineConfig(config: TapestryConfigInput): TapestryConfigInput {
  return config;
}

/**
 * Parses and checks a configuration. Throws ConfigError listing every problem, each with its
 * path (`pipelines[0].stages[1].steps[0].jobId`) and what to do about it.
 */
export function parseConfig(input: unknown, source?: string): TapestryConfig {
  const result = configSchema.safeParse(input, { reportInput: true, error: plainTypeError });
  if (!result.success) throw new ConfigError(result.error.issues.flatMap(toConfigIssues), source);
  const crossIssues = [...checkCrossReferences(result.data), ...pipelineBoundsIssues(result.data)];
  if (crossIssues.length > 0) throw new ConfigError(crossIssues, source);
  return result.data;
}

/** Fallback wording for schemas that carry no message of their own (zod's default reads "Invalid input: ..."). */
function plainTypeError(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  const article = /^[aeiou]/.test(issue.expected) ? "an" : "a";
  return `expected ${article} ${issue.expected === "array" ? "list" : issue.expected}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      const text = String(key);
      if (!/^[A-Za-z_$][\w$]*$/.test(text)) return `[${JSON.stringify(text)}]`;
      return i === 0 ? text : `.${text}`;
    })
    .join("");
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: "unknown key: remove it or check its spelling",
    }));
  }
  const path = formatPath(issue.path);
  if (issue.code === "invalid_union" && issue.discriminator) {
    // zod reports the whole object; the user needs to see the discriminator's own value
    const input = issue.input as Record<string, unknown> | undefined;
    const value = input && typeof input === "object" ? input[issue.discriminator] : undefined;
    if (value === undefined) return [{ path, message: `is required: ${issue.message}` }];
    return [{ path, message: withInput(issue.message, value) }];
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return [{ path, message: `is required: ${issue.message}` }];
  }
  if (issue.code === "custom") return [{ path, message: issue.message }];
  return [{ path, message: withInput(issue.message, issue.input) }];
}

function withInput(message: string, input: unknown): string {
  if (input === undefined) return message;
  return `${message}, got ${describe(input)}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Rules that span several fields: unique names, declared tools, polls shorter than timeouts. */
function checkCrossReferences(config: TapestryConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const pipelineNames = new Map<string, number>();
  config.pipelines.forEach((pipeline, p) => {
    const first = pipelineNames.get(pipeline.name);
    if (first === undefined) pipelineNames.set(pipeline.name, p);
    else
      issues.push({
        path: formatPath(["pipelines", p, "name"]),
        message: `duplicate pipeline name "${pipeline.name}" (also pipelines[${first}]): pipeline names must be unique`,
      });

    const stageNames = new Map<string, number>();
    const stepNames = new Map<string, string>();
    pipeline.stages.forEach((stage, s) => {
      const firstStage = stageNames.get(stage.name);
      if (firstStage === undefined) stageNames.set(stage.name, s);
      else
        issues.push({
          path: formatPath(["pipelines", p, "stages", s, "name"]),
          message: `duplicate stage name "${stage.name}" (also stages[${firstStage}]): stage names must be unique within a pipeline`,
        });
      stage.steps.forEach((step, t) => {
        const here = ["pipelines", p, "stages", s, "steps", t];
        const firstStep = stepNames.get(step.name);
        if (firstStep === undefined) stepNames.set(step.name, `stages[${s}].steps[${t}]`);
        else
          issues.push({
            path: formatPath([...here, "name"]),
            message: `duplicate step name "${step.name}" (also ${firstStep}): step names must be unique within a pipeline`,
          });
        if (!config.tools[step.tool]) {
          issues.push({
            path: formatPath([...here, "tool"]),
            message: `uses "${step.tool}" but tools${formatPath(["x", step.tool]).slice(1)} is not declared: add its endpoint and secret names under tools`,
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
