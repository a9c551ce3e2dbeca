import { readFileSync } from "node:fs";
import type {
  ChoiceState,
  MapState,
  State,
  StateMachineDefinition,
  States,
  TaskState,
} from "../../../state-machines/src/asl";
import { PIPELINE_RUN_ASL_PATH } from "../../../state-machines/src/generate";

/** The committed pipeline-run definition, as text and parsed, and ways to walk it. */
export const COMMITTED_ASL = readFileSync(PIPELINE_RUN_ASL_PATH, "utf8");
export const DEFINITION = JSON.parse(COMMITTED_ASL) as StateMachineDefinition;

/** The definition's levels: the top level, then each Map's iterations. */
export interface Level {
  readonly name: string;
  readonly startAt: string;
  readonly states: States;
}

export function levels(definition: StateMachineDefinition = DEFINITION): Level[] {
  const found: Level[] = [{ name: "(top)", startAt: definition.StartAt, states: definition.States }];
  const visit = (states: States) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type !== "Map") continue;
      found.push({ name, startAt: state.ItemProcessor.StartAt, states: state.ItemProcessor.States });
      visit(state.ItemProcessor.States);
    }
  };
  visit(definition.States);
  return found;
}

/** Every state of the definition, at any level, by name (names are unique across levels). */
export function allStates(definition: StateMachineDefinition = DEFINITION): Map<string, State> {
  return new Map(levels(definition).flatMap((level) => Object.entries(level.states)));
}

export function taskStates(definition: StateMachineDefinition = DEFINITION): Map<string, TaskState> {
  return new Map(
    [...allStates(definition)].filter((entry): entry is [string, TaskState] => entry[1].Type === "Task"),
  );
}

export function choiceStates(definition: StateMachineDefinition = DEFINITION): Map<string, ChoiceState> {
  return new Map(
    [...allStates(definition)].filter((entry): entry is [string, ChoiceState] => entry[1].Type === "Choice"),
  );
}

/** Where a state may go next: Next, each Choice, Default, each Catch. */
export function successors(state: State): string[] {
  const next: string[] = [];
  if ("Next" in state && state.Next) next.push(state.Next);
  if (state.Type === "Choice") next.push(...state.Choices.map((rule) => rule.Next), state.Default);
  if ((state.Type === "Task" || state.Type === "Map") && state.Catch) {
    next.push(...state.Catch.map((clause) => clause.Next));
  }
  return next;
}

/** Whether an ErrorEquals list matches an error name, as Step Functions matches it. */
export function matchesError(errorEquals: readonly string[], error: string): boolean {
  return (
    errorEquals.includes(error) ||
    errorEquals.includes("States.ALL") ||
    (errorEquals.includes("States.TaskFailed") && error !== "States.Timeout")
  );
}

/** What a Task state does with an error: whether it retries it, and where it goes once retries are over. */
export function route(
  state: TaskState | MapState,
  error: string,
): { retried: boolean; caughtBy: string | undefined } {
  const retried =
    state.Type === "Task" && state.Retry.some((retrier) => matchesError(retrier.ErrorEquals, error));
  const clause = state.Catch?.find((c) => matchesError(c.ErrorEquals, error));
  return { retried, caughtBy: clause?.Next };
}
