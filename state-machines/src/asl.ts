/**
 * The part of the Amazon States Language (JSONPath) the Tapestry state machines use, as types:
 * the TypeScript descriptions in this folder are checked against them, and their JSON is what
 * the files next to this folder hold. A small model of our own rather than aws-cdk-lib's state
 * classes: ADR 0006 says why.
 */

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** Parameters, ResultSelector, ItemSelector: keys ending in `.$` take a path or an intrinsic function. */
export type PayloadTemplate = { readonly [key: string]: Json };

export interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds: number;
  readonly BackoffRate: number;
  readonly MaxAttempts: number;
  readonly JitterStrategy: "FULL" | "NONE";
}

export interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly ResultPath: string;
  readonly Next: string;
}

type Transition =
  | { readonly Next: string; readonly End?: never }
  | { readonly End: true; readonly Next?: never };

/**
 * A Task's timeout: fixed, or (a callback task waiting for its token) read from the state's input
 * by a reference path. AWS resolves TimeoutSecondsPath against the state's input, before
 * Parameters (its own Glue example); the embedded runner follows it (packages/local runner).
 */
type TaskTimeout =
  | { readonly TimeoutSeconds: number; readonly TimeoutSecondsPath?: never }
  | { readonly TimeoutSecondsPath: string; readonly TimeoutSeconds?: never };

export type TaskState = {
  readonly Type: "Task";
  readonly Comment?: string;
  /** a function's ARN, or a service integration such as arn:aws:states:::lambda:invoke.waitForTaskToken */
  readonly Resource: string;
  readonly Parameters: PayloadTemplate;
  readonly ResultPath: string | null;
  readonly Retry: readonly Retrier[];
  readonly Catch: readonly Catcher[];
} & TaskTimeout &
  Transition;

export type PassState = {
  readonly Type: "Pass";
  readonly Comment?: string;
  readonly Parameters?: PayloadTemplate;
  readonly ResultPath?: string;
} & Transition;

export type WaitState = {
  readonly Type: "Wait";
  readonly Comment?: string;
  readonly Next: string;
} & (
  | { readonly SecondsPath: string; readonly Seconds?: never }
  | { readonly Seconds: number; readonly SecondsPath?: never }
);

type Comparison = { readonly Variable: string } & (
  | { readonly StringEquals: string }
  | { readonly BooleanEquals: boolean }
  | { readonly IsPresent: boolean }
);

export type ChoiceRule = (
  | Comparison
  | { readonly Not: Comparison }
  | { readonly And: readonly Comparison[] }
) & { readonly Next: string };

export interface ChoiceState {
  readonly Type: "Choice";
  readonly Comment?: string;
  readonly Choices: readonly ChoiceRule[];
  readonly Default: string;
}

export type MapState = {
  readonly Type: "Map";
  readonly Comment?: string;
  readonly ItemsPath: string;
  readonly MaxConcurrency: number;
  readonly ItemSelector: PayloadTemplate;
  readonly ItemProcessor: {
    readonly ProcessorConfig: { readonly Mode: "INLINE" };
    readonly StartAt: string;
    readonly States: States;
  };
  readonly ResultSelector?: PayloadTemplate;
  readonly ResultPath: string;
  readonly Catch?: readonly Catcher[];
} & Transition;

/** Branches run at once; the state's output is their outputs in order (after ResultSelector). */
export type ParallelState = {
  readonly Type: "Parallel";
  readonly Comment?: string;
  readonly Parameters?: PayloadTemplate;
  readonly Branches: readonly { readonly StartAt: string; readonly States: States }[];
  readonly ResultSelector?: PayloadTemplate;
  readonly ResultPath: string;
  readonly Catch?: readonly Catcher[];
} & Transition;

export type FailState = {
  readonly Type: "Fail";
  readonly Comment?: string;
  readonly Error: string;
} & ({ readonly Cause: string } | { readonly CausePath: string });

export interface SucceedState {
  readonly Type: "Succeed";
  readonly Comment?: string;
}

export type State =
  | TaskState
  | PassState
  | WaitState
  | ChoiceState
  | MapState
  | ParallelState
  | FailState
  | SucceedState;

export type States = { readonly [name: string]: State };

export interface StateMachineDefinition {
  readonly Comment: string;
  readonly StartAt: string;
  /** a number, or a `${Name}` placeholder filled with one at deploy time (core asl.ts) */
  readonly TimeoutSeconds: number | `\${${string}}`;
  readonly States: States;
}
