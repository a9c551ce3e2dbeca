import { parseConfig, type TapestryConfigInput } from "@tapestry/core/config";
import { ConfigError } from "@tapestry/core/errors";
import { describe, expect, it } from "vitest";
import kickstart from "../../../tapestry.config";
import {
  CANARY,
  dbtStep,
  invalidConfigs,
  invalidValues,
  kickstartWith,
  type Loose,
  neverFiringSchedules,
  scheduleAt,
  secretValuesAsNames,
  setAt,
  step0,
} from "../../support/invalid-configs";

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected the config to be rejected");
}

describe("the kickstart config (Rain Shield)", () => {
  it("parses, with defaults filled in", () => {
    const config = parseConfig(kickstart);
    expect(config.pipelines).toHaveLength(1);
    const [pipeline] = config.pipelines;
    expect(pipeline?.name).toBe("rain-shield-audience");
    expect(pipeline?.overlap).toBe("skip");
    expect(pipeline?.schedule).toEqual({
      expression: "cron(0 6 * * ? *)",
      timezone: "America/New_York",
      enabled: true,
    });
    expect(pipeline?.stages.map((s) => s.steps.map((t) => `${t.tool}:${t.name}`))).toEqual([
      ["airbyte:zoom-webinar-registrants", "airbyte:salesforce-contacts"],
      ["dbt-cloud:email-model"],
      ["grouparoo:mailchimp-audience"],
    ]);
    expect(config.tools["dbt-cloud"]?.requestTimeoutSeconds).toBe(30);
    const dbtStep = pipeline?.stages[1]?.steps[0];
    expect(dbtStep?.tool === "dbt-cloud" && dbtStep.attachToInFlightRun).toBe(true);
  });

  it("strips a trailing slash from base URLs so paths join cleanly", () => {
    const config = parseConfig(
      kickstartWith((c) => {
        c.tools.grouparoo.baseUrl = "https://grouparoo.example.com/";
      }),
    );
    expect(config.tools.grouparoo?.baseUrl).toBe("https://grouparoo.example.com");
  });

  it("accepts rate expressions, L/W/# cron forms and time-zone aliases", () => {
    for (const [expression, timezone] of [
      ["rate(1 hour)", "UTC"],
      ["rate(15 minutes)", "Europe/Berlin"],
      ["cron(0/15 8-18 ? * MON-FRI *)", "Asia/Kolkata"],
      ["cron(0 12 L * ? 2026-2030)", "Australia/Sydney"],
      ["cron(30 2 15W * ? *)", "US/Pacific"],
      ["cron(0 18 LW * ? *)", "Europe/London"],
      ["cron(0 9 ? * 2#1 *)", "Etc/UTC"],
      ["cron(0 9 ? * 6L *)", "America/Sao_Paulo"],
    ]) {
      const config = parseConfig(
        kickstartWith((c) => {
          c.pipelines[0].schedule = { expression, timezone };
        }),
      );
      expect(config.pipelines[0]?.schedule.expression).toBe(expression);
    }
  });
});

/** The one problem reported at `path` (fails when there is none, or more than one). */
function issueAt(input: unknown, path: string, options?: Parameters<typeof parseConfig>[2]): string {
  let issues: readonly { path: string; message: string }[] = [];
  try {
    parseConfig(input, undefined, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    issues = (error as ConfigError).issues;
  }
  const atPath = issues.filter((i) => i.path === path);
  expect(atPath, `issues were: ${JSON.stringify(issues)}`).toHaveLength(1);
  return atPath[0]?.message ?? "";
}

describe("invalid configs are rejected with the path and the fix", () => {
  it.each(invalidValues)("%s -> %s", (_what, path, value, message) => {
    expect(
      issueAt(
        kickstartWith((c) => setAt(c, path, value)),
        path,
      ),
    ).toContain(message);
  });

  it.each(invalidConfigs)("$what -> $path", ({ change, path, message }) => {
    expect(issueAt(kickstartWith(change), path)).toContain(message);
  });

  it("reports every problem at once, one line each, in the error message", () => {
    const input = kickstartWith((c) => {
      c.pipelines[0].stages[1].steps[0].jobId = "abc";
      c.pipelines[0].schedule.timezone = "Nowhere/Land";
      c.extra = true;
    });
    expect(() => parseConfig(input)).toThrowError(
      /tapestry config is invalid \(3 problems\):\n {2}- pipelines\[0\]\.schedule\.timezone: unknown time zone "Nowhere\/Land"[\s\S]*\n {2}- pipelines\[0\]\.stages\[1\]\.steps\[0\]\.jobId: expected a positive integer, got "abc"\n {2}- extra: unknown key/,
    );
    expect(issuesOf(input).map((i) => i.path)).toEqual([
      "pipelines[0].schedule.timezone",
      `${dbtStep}.jobId`,
      "extra",
    ]);
  });

  it("rejects a document that is not a config at all", () => {
    expect(issuesOf(null)).toEqual([{ path: "(root)", message: "expected an object, got null" }]);
    expect(issuesOf({} satisfies Partial<TapestryConfigInput>).map((i) => i.path)).toEqual([
      "tools",
      "pipelines",
    ]);
  });
});

const withSchedule = (expression: string, timezone = "UTC") =>
  kickstartWith((c) => {
    c.pipelines[0].schedule = { expression, timezone };
  });

describe("only the config's own plain data is read", () => {
  it("refuses a required field supplied through the prototype, and says why", () => {
    const input = kickstartWith((c) => {
      const step = c.pipelines[0].stages[0].steps[0];
      const { timeoutMinutes, ...rest } = step;
      c.pipelines[0].stages[0].steps[0] = Object.assign(Object.create({ timeoutMinutes }), rest);
    });
    expect(issueAt(input, `${step0}.timeoutMinutes`)).toMatch(
      /^is required: expected a whole number of minutes .* only inherits it through its prototype/,
    );
  });

  it("does not read a field from Object.prototype either (a polluted prototype supplies nothing)", () => {
    const input = kickstartWith((c) => delete c.pipelines[0].stages[0].steps[0].timeoutMinutes);
    Object.defineProperty(Object.prototype, "timeoutMinutes", { value: 30, configurable: true });
    try {
      expect(issueAt(input, `${step0}.timeoutMinutes`)).toMatch(
        /^is required: expected a whole number of minutes/,
      );
    } finally {
      delete (Object.prototype as { timeoutMinutes?: number }).timeoutMinutes;
    }
  });

  it("refuses a Proxy whose traps throw, and runaway nesting, at their path", () => {
    const trap = () => {
      throw new Error("trap sprung");
    };
    const proxied = kickstartWith((c) => {
      c.aws = new Proxy({}, { ownKeys: trap });
    });
    expect(issueAt(proxied, "aws")).toContain("could not be read (Error: trap sprung)");
    let deep: Loose = {};
    for (let i = 0; i < 40; i++) deep = { next: deep };
    const nested = kickstartWith((c) => {
      c.aws = deep;
    });
    expect(issueAt(nested, `aws${".next".repeat(32)}`)).toBe("is nested more than 32 levels deep");
  });

  it("refuses a getter without calling it", () => {
    let called = false;
    const input = kickstartWith((c) => {
      Object.defineProperty(c.pipelines[0], "description", {
        enumerable: true,
        get: () => {
          called = true;
          throw new Error("getter boom");
        },
      });
    });
    expect(issueAt(input, "pipelines[0].description")).toContain("is a getter");
    expect(called).toBe(false);
  });

  it("refuses a cycle, naming where it points back to", () => {
    const input = kickstartWith((c) => {
      c.pipelines[0].stages[0].steps[0].loop = c.pipelines[0];
    });
    expect(issueAt(input, `${step0}.loop`)).toContain("refers back to pipelines[0]");
  });

  it("accepts the same object used twice (a tree may share a branch; only a cycle is refused)", () => {
    const input = kickstartWith((c) => {
      c.pipelines.push({ ...c.pipelines[0], name: "second", stages: c.pipelines[0].stages });
    });
    expect(parseConfig(input).pipelines.map((p) => p.name)).toEqual(["rain-shield-audience", "second"]);
  });

  it("refuses a default export that is a function or a Promise", () => {
    expect(issueAt(() => kickstart, "(root)")).toContain("the default export is a function");
    expect(issueAt(Promise.resolve(kickstart), "(root)")).toContain("is a Promise: await it first");
  });

  it("reads an own __proto__ key as a key (refused as unknown), not as a prototype", () => {
    const input = JSON.parse(`{"__proto__": {"pipelines": []}, ${JSON.stringify(kickstart).slice(1)}`);
    expect(issueAt(input, "__proto__")).toBe("unknown key: remove it or check its spelling");
  });
});

describe("a secret value where a secret NAME belongs is never echoed", () => {
  it.each(secretValuesAsNames)("%s", (_what, value) => {
    const input = kickstartWith((c) => {
      c.tools["dbt-cloud"].tokenSecret = value;
    });
    let message = "";
    try {
      parseConfig(input, "tapestry.config.ts");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain(
      'tools["dbt-cloud"].tokenSecret: this looks like a secret value; put its NAME here and set the value with `tapestry secrets set`',
    );
    for (const part of [value, CANARY, CANARY.slice(0, 8), "ZQ81CANA", "4f9a8b7c"]) {
      expect(message).not.toContain(part);
    }
  });

  it("a missing secret name says it is required", () => {
    const input = kickstartWith((c) => {
      delete c.tools.grouparoo.apiKeySecret;
    });
    expect(issueAt(input, "tools.grouparoo.apiKeySecret")).toMatch(
      /^is required: expected the NAME of a secret/,
    );
  });
});

describe("schedules that can never fire, or fire only in the past, are refused at their path", () => {
  const now = new Date("2026-03-04T10:00:00Z");

  it.each(neverFiringSchedules)("%s never fires (whatever the clock)", (expression, message) => {
    expect(issueAt(withSchedule(expression), scheduleAt, { now })).toContain(message);
  });

  it("a date that exists only in other years (29 February 2027) never fires", () => {
    expect(issueAt(withSchedule("cron(0 0 29 2 ? 2027)"), scheduleAt, { now })).toContain(
      "cron(0 0 29 2 ? 2027) never fires: no instant in UTC matches all its fields",
    );
  });

  it("a wall time that daylight-saving time always skips never fires in that zone (and is fine in UTC)", () => {
    // 02:30 on the second Sunday of March does not exist in New York since 2007 (it did before)
    const gap = "cron(30 2 ? 3 1#2 2030-2040)";
    expect(issueAt(withSchedule(gap, "America/New_York"), scheduleAt, { now })).toContain(
      "never fires: no instant in America/New_York matches",
    );
    expect(parseConfig(withSchedule(gap, "UTC"), undefined, { now }).pipelines[0]?.schedule.expression).toBe(
      gap,
    );
  });

  it("a year field wholly in the past is refused, judged against the clock, and says so", () => {
    expect(issueAt(withSchedule("cron(0 6 * * ? 2020-2025)"), scheduleAt, { now })).toBe(
      "cron(0 6 * * ? 2020-2025) fires only in the past: every year in its year field is before 2026 (judged against this machine's clock when the config was checked, 2026-03-04T10:00:00.000Z); change or remove the year field",
    );
  });

  it("a year field that includes this year but whose last match has passed is refused too", () => {
    expect(issueAt(withSchedule("cron(0 6 1 JAN ? 2026)"), scheduleAt, { now })).toContain(
      "fires only in the past: every time it matches is before now (judged against this machine's clock when the config was checked, 2026-03-04T10:00:00.000Z)",
    );
  });

  it("the same schedules are accepted while they still have fires ahead", () => {
    const before = new Date("2025-12-30T12:00:00Z");
    for (const expression of ["cron(0 6 * * ? 2020-2025)", "cron(0 6 1 JAN ? 2026)"]) {
      expect(() => parseConfig(withSchedule(expression), undefined, { now: before })).not.toThrow();
    }
  });

  it("without judging against the clock (a config read again after its deploy), only never-firing ones are refused", () => {
    const later = { now, judgeSchedulesAgainstClock: false };
    expect(() => parseConfig(withSchedule("cron(0 6 * * ? 2020-2025)"), undefined, later)).not.toThrow();
    expect(issueAt(withSchedule("cron(0 0 29 2 ? 2027)"), scheduleAt, later)).toContain("never fires");
  });

  it("rate schedules always have fires ahead", () => {
    expect(() => parseConfig(withSchedule("rate(7 days)"), undefined, { now })).not.toThrow();
  });
});
