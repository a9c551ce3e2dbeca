import {
  AslPlaceholderError,
  fillPipelineRunDefinition,
  PIPELINE_RUN_FUNCTIONS,
  type PipelineRunFunction,
  RUN_TIMEOUT_PLACEHOLDER,
  substituteAslPlaceholders,
} from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";
import { COMMITTED_ASL, DEFINITION } from "./definition";

const ARNS = Object.fromEntries(
  PIPELINE_RUN_FUNCTIONS.map((fn) => [fn, `arn:aws:lambda:eu-west-1:123456789012:function:${fn}`]),
) as Record<PipelineRunFunction, string>;

describe("the pipeline-run definition's placeholders", () => {
  it("keep the committed file valid JSON, the run's timeout a placeholder string", () => {
    expect(DEFINITION.TimeoutSeconds).toBe(`\${${RUN_TIMEOUT_PLACEHOLDER}}`);
  });

  it("fill with the function ARNs as text and the run's timeout as a number", () => {
    const filled = JSON.parse(
      fillPipelineRunDefinition(COMMITTED_ASL, { functionArns: ARNS, runTimeoutSeconds: 19_903 }),
    );
    expect(filled.TimeoutSeconds).toBe(19_903);
    expect(filled.States.AcquireRunLock.Resource).toBe(ARNS.RunLockFunctionArn);
    expect(JSON.stringify(filled)).not.toContain("${");
  });

  it("refuse a timeout that is not a whole number of seconds, changing nothing", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() =>
        fillPipelineRunDefinition(COMMITTED_ASL, { functionArns: ARNS, runTimeoutSeconds: bad }),
      ).toThrow(AslPlaceholderError);
    }
  });

  it("refuse a number for a placeholder that is part of a longer text", () => {
    expect(() => substituteAslPlaceholders(`{"Comment": "after \${Seconds} s"}`, { Seconds: 5 })).toThrow(
      /must stand alone as a JSON string/,
    );
  });

  it("refuse values that do not match the placeholders, naming both sides", () => {
    expect(() => substituteAslPlaceholders(COMMITTED_ASL, ARNS)).toThrow(
      `no value for ${RUN_TIMEOUT_PLACEHOLDER}`,
    );
    expect(() =>
      substituteAslPlaceholders(COMMITTED_ASL, { ...ARNS, [RUN_TIMEOUT_PLACEHOLDER]: 60, Extra: "x" }),
    ).toThrow("not in the definition: Extra");
  });
});
