import { parseConfig } from "@tapestry/core/config";
import { ConfigError } from "@tapestry/core/errors";
import { expect } from "vitest";

/** Every problem parseConfig finds in `input` (it must refuse it, with a ConfigError). */
export function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected the config to be rejected");
}

/** The one problem at `path`. */
export function issueAt(input: unknown, path: string): string {
  const issues = issuesOf(input);
  const atPath = issues.filter((issue) => issue.path === path);
  expect(atPath, `issues were: ${JSON.stringify(issues)}`).toHaveLength(1);
  return atPath[0]?.message ?? "";
}
