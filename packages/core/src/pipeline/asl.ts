import { TapestryError } from "../errors";

/** The function ARNs the pipeline-run state machine refers to, as `${Name}` placeholders. */
export const PIPELINE_RUN_FUNCTIONS = [
  "RunLockFunctionArn",
  "PublishEventFunctionArn",
  "StartStepFunctionArn",
  "PollStepFunctionArn",
  "CancelStepFunctionArn",
] as const;
export type PipelineRunFunction = (typeof PIPELINE_RUN_FUNCTIONS)[number];

/**
 * Fills the `${Name}` placeholders of an ASL definition, the same way for AWS and for the
 * embedded runner. Every placeholder must get a value and every value must be used, so a renamed
 * placeholder cannot silently deploy a broken definition.
 */
export function substituteAslPlaceholders(
  definition: string,
  values: Readonly<Record<string, string>>,
): string {
  const found = new Set([...definition.matchAll(/\$\{([A-Za-z][A-Za-z0-9]*)\}/g)].map((m) => m[1] ?? ""));
  const missing = [...found].filter((name) => values[name] === undefined);
  const unused = Object.keys(values).filter((name) => !found.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new TapestryError(
      `ASL placeholders do not match: ${missing.length ? `no value for ${missing.join(", ")}` : ""}${missing.length && unused.length ? "; " : ""}${unused.length ? `not in the definition: ${unused.join(", ")}` : ""}`,
    );
  }
  return definition.replace(/\$\{([A-Za-z][A-Za-z0-9]*)\}/g, (_, name: string) => values[name] ?? "");
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
