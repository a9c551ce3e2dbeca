import { TapestryError } from "../errors";

/** The function ARNs the pipeline-run state machine refers to, as `${Name}` placeholders. */
export const PIPELINE_RUN_FUNCTIONS = [
  "RunLockFunctionArn",
  "PublishEventFunctionArn",
  "StartStepFunctionArn",
  "PollStepFunctionArn",
  "CancelStepFunctionArn",
  "AwaitWebhookFunctionArn",
] as const;
export type PipelineRunFunction = (typeof PIPELINE_RUN_FUNCTIONS)[number];

/**
 * The pipeline-run definition's numeric placeholder: its top-level TimeoutSeconds, which depends
 * on the config (bounds.ts, definitionTimeoutSeconds). The committed file keeps it as the JSON
 * string "${RunTimeoutSeconds}" so that it stays valid JSON; filling it writes a number.
 */
export const RUN_TIMEOUT_PLACEHOLDER = "RunTimeoutSeconds";

/** An ASL definition's placeholders and the values given for them do not match. */
export class AslPlaceholderError extends TapestryError {
  override readonly name = "AslPlaceholderError";
}

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;

/**
 * Fills the `${Name}` placeholders of an ASL definition, the same way for AWS and for the
 * embedded runner. Every placeholder must get a value and every value must be used, so a renamed
 * placeholder cannot silently deploy a broken definition. A text value is written where its
 * placeholder stands (inside a JSON string); a number replaces the whole JSON string
 * `"${Name}"`, which must be all its placeholder is, and must be a whole number of 0 or more.
 */
export function substituteAslPlaceholders(
  definition: string,
  values: Readonly<Record<string, string | number>>,
): string {
  const found = new Set([...definition.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ""));
  const missing = [...found].filter((name) => values[name] === undefined);
  const unused = Object.keys(values).filter((name) => !found.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new AslPlaceholderError(
      `ASL placeholders do not match: ${missing.length ? `no value for ${missing.join(", ")}` : ""}${missing.length && unused.length ? "; " : ""}${unused.length ? `not in the definition: ${unused.join(", ")}` : ""}`,
    );
  }
  let filled = definition;
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== "number") continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AslPlaceholderError(
        `ASL placeholder \${${name}} takes a whole number of 0 or more, got ${value}`,
      );
    }
    filled = filled.replaceAll(`"\${${name}}"`, String(value));
    if (filled.includes(`\${${name}}`)) {
      throw new AslPlaceholderError(
        `ASL placeholder \${${name}} takes a number, so it must stand alone as a JSON string ("\${${name}}")`,
      );
    }
  }
  return filled.replace(PLACEHOLDER, (_, name: string) => String(values[name] ?? ""));
}

/** What the pipeline-run definition needs filled in: the task functions' ARNs and the run's timeout. */
export interface PipelineRunValues {
  readonly functionArns: Readonly<Record<PipelineRunFunction, string>>;
  /** bounds.ts definitionTimeoutSeconds over the deployed pipelines */
  readonly runTimeoutSeconds: number;
}

/** The pipeline-run definition ready to deploy or to run embedded. */
export function fillPipelineRunDefinition(definition: string, values: PipelineRunValues): string {
  return substituteAslPlaceholders(definition, {
    ...values.functionArns,
    [RUN_TIMEOUT_PLACEHOLDER]: values.runTimeoutSeconds,
  });
}

interface AslStates {
  readonly [name: string]: {
    readonly Type?: string;
    readonly Resource?: string;
    readonly ItemProcessor?: { readonly States?: AslStates };
    readonly Iterator?: { readonly States?: AslStates };
    readonly Branches?: readonly { readonly States?: AslStates }[];
  };
}

/** Every Task state of a definition (nested Map and Parallel states included) with its Resource. */
export function taskResources(definition: { readonly States: AslStates }): Map<string, string> {
  const tasks = new Map<string, string>();
  const visit = (states: AslStates | undefined) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type === "Task" && state.Resource) tasks.set(name, state.Resource);
      visit(state.ItemProcessor?.States ?? state.Iterator?.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);
  return tasks;
}
