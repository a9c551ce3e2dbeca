import {
  looksLikeSecretValue,
  PIPELINE_NAME,
  SECRET_NAME,
  STEP_NAME,
  secretNameProblem,
  TOOL_NAMES,
} from "@tapestry/core/names";
import { describeValue, formatPath, issuesAsMessages, issuesText } from "@tapestry/core/zod-messages";
import { describe, expect, it } from "vitest";
import * as z from "zod";

describe("formatPath", () => {
  it.each([
    [[], "(root)"],
    [["pipelines", 0, "stages", 1, "name"], "pipelines[0].stages[1].name"],
    [["tools", "dbt-cloud", "tokenSecret"], 'tools["dbt-cloud"].tokenSecret'],
    [["dbt-cloud", "rules", 0], "dbt-cloud.rules[0]"],
    [["a key", "b"], '["a key"].b'],
  ] as [PropertyKey[], string][])("%j -> %s", (path, text) => {
    expect(formatPath(path)).toBe(text);
  });

  it("names the root as asked", () => {
    expect(formatPath([], "(body)")).toBe("(body)");
  });
});

describe("describeValue: as written, never throwing", () => {
  it.each([
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [-0, "-0"],
    [12n, "the BigInt 12n"],
    ["x".repeat(200), `"${"x".repeat(75)}..."`],
    [null, "null"],
    [undefined, "nothing"],
    [[1, 2, 3], "a list of 3"],
    [{ a: 1 }, "an object"],
    [Symbol("s"), "a symbol"],
    [() => 1, "a function"],
  ])("%s", (value, text) => {
    expect(describeValue(value)).toBe(text);
  });
});

describe("issue wording", () => {
  const schema = z.strictObject({
    limit: z.number({ error: "expected a whole number" }).int({ error: "expected a whole number" }),
    note: z.string({ error: "expected text" }).max(3, { error: "expected at most 3 characters" }).optional(),
  });
  const issuesOf = (input: unknown) => {
    const result = schema.safeParse(input, { reportInput: true });
    if (result.success) throw new Error("expected issues");
    return result.error.issues;
  };

  it("describes the input when asked, says 'is required' for a missing field, names unknown keys", () => {
    expect(issuesAsMessages(issuesOf({ note: "long", extra: 1 }), { describeInput: true })).toEqual([
      { path: "limit", message: "is required: expected a whole number" },
      { path: "note", message: "expected at most 3 characters, got 4 characters" },
      { path: "extra", message: "unknown key: remove it or check its spelling" },
    ]);
  });

  it("leaves the input out unless asked (answers from a tool, events), and joins on one line", () => {
    expect(issuesText(issuesOf({ limit: 1.5, secretish: "x" }), { unknownKey: "unknown field" })).toBe(
      "limit: expected a whole number; secretish: unknown field",
    );
  });

  it("a message alone where the path is empty and the root is named ''", () => {
    const result = z.string().regex(/^a/, { error: "expected an a" }).safeParse("b");
    expect(result.success).toBe(false);
    if (!result.success) expect(issuesText(result.error.issues, { root: "" })).toBe("expected an a");
  });
});

describe("names", () => {
  it("one tool list", () => {
    expect(TOOL_NAMES).toEqual(["airbyte", "dbt-cloud", "grouparoo"]);
  });

  it.each([
    [PIPELINE_NAME, "rain-shield-audience", `p${"a".repeat(40)}`],
    [STEP_NAME, "zoom-webinar-registrants", "Zoom"],
    [SECRET_NAME, "DBT_CLOUD_TOKEN", "dbt_cloud_token"],
  ])("%o accepts %s and refuses %s", (rule, good, bad) => {
    expect(rule.pattern.test(good)).toBe(true);
    expect(rule.pattern.test(bad)).toBe(false);
  });

  it.each([
    "dbtc_9f8e7d6c5b4a3f2e1d0c",
    "sk-proj-abc123def456",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----",
    "AKIAIOSFODNN7EXAMPLE",
    "Zq81v9x2Lk3Jw0Tr7Yb4",
  ])("%j looks like a secret value, and is never repeated", (value) => {
    expect(looksLikeSecretValue(value)).toBe(true);
    const problem = secretNameProblem(value) ?? "";
    expect(problem).toMatch(/^this looks like a secret value; put its NAME here/);
    expect(problem).not.toContain(value.slice(0, 8));
  });

  it.each(["DBT_CLOUD_TOKEN", "AIRBYTE_CLIENT_SECRET", "TOKEN2", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"])(
    "%s is a name",
    (name) => {
      expect(secretNameProblem(name)).toBeUndefined();
    },
  );

  it.each(["dbt_cloud_token", "Dbt Token", "../prod/TOKEN", ""])(
    "%j is no name, and is not repeated",
    (value) => {
      const problem = secretNameProblem(value) ?? "";
      expect(problem).toMatch(/^expected UPPER_SNAKE_CASE/);
      if (value) expect(problem).not.toContain(value);
    },
  );
});
