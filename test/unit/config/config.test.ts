import { parseConfig, type TapestryConfigInput } from "@tapestry/core/config";
import { ConfigError } from "@tapestry/core/errors";
import { describe, expect, it } from "vitest";
import kickstart from "../../../tapestry.config";

// biome-ignore lint/suspicious/noExplicitAny: the tests bend configs into invalid shapes on purpose
type Loose = Record<string, any>;

/** A deep copy of the kickstart config with one change applied. */
function kickstartWith(change: (config: Loose) => void): unknown {
  const copy = structuredClone(kickstart) as Loose;
  change(copy);
  return copy;
}

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

const step0 = "pipelines[0].stages[0].steps[0]";
const dbtStep = "pipelines[0].stages[1].steps[0]";

const invalidConfigs: {
  what: string;
  change: (c: Loose) => void;
  path: string;
  message: string;
}[] = [
  {
    what: "a dbt job id that is not a number",
    change: (c) => {
      c.pipelines[0].stages[1].steps[0].jobId = "abc";
    },
    path: `${dbtStep}.jobId`,
    message: 'expected a positive integer, got "abc"',
  },
  {
    what: "a cron with five (Unix) fields",
    change: (c) => {
      c.pipelines[0].schedule.expression = "cron(0 6 * * *)";
    },
    path: "pipelines[0].schedule.expression",
    message: "has 5 fields; EventBridge Scheduler needs 6",
  },
  {
    what: "a cron without ? in either day field",
    change: (c) => {
      c.pipelines[0].schedule.expression = "cron(0 6 * * * *)";
    },
    path: "pipelines[0].schedule.expression",
    message: 'exactly one of day-of-month and day-of-week must be "?"',
  },
  {
    what: "a cron minute out of range",
    change: (c) => {
      c.pipelines[0].schedule.expression = "cron(61 6 * * ? *)";
    },
    path: "pipelines[0].schedule.expression",
    message: 'minutes field "61" has 61: allowed values are 0-59',
  },
  {
    what: "a rate with a plural unit for 1",
    change: (c) => {
      c.pipelines[0].schedule.expression = "rate(1 hours)";
    },
    path: "pipelines[0].schedule.expression",
    message: 'write "rate(1 hour)"',
  },
  {
    what: "a rate in weeks",
    change: (c) => {
      c.pipelines[0].schedule.expression = "rate(2 weeks)";
    },
    path: "pipelines[0].schedule.expression",
    message: 'the unit must be minute(s), hour(s) or day(s), got "weeks"',
  },
  {
    what: "a one-time at() expression",
    change: (c) => {
      c.pipelines[0].schedule.expression = "at(2026-12-01T06:00:00)";
    },
    path: "pipelines[0].schedule.expression",
    message: "a pipeline schedule must recur",
  },
  {
    what: "an unknown time zone",
    change: (c) => {
      c.pipelines[0].schedule.timezone = "Mars/Olympus_Mons";
    },
    path: "pipelines[0].schedule.timezone",
    message: 'unknown time zone "Mars/Olympus_Mons": use an IANA name',
  },
  {
    what: "a time zone in the wrong case",
    change: (c) => {
      c.pipelines[0].schedule.timezone = "europe/berlin";
    },
    path: "pipelines[0].schedule.timezone",
    message: 'did you mean "Europe/Berlin"?',
  },
  {
    what: "a UTC offset instead of a zone",
    change: (c) => {
      c.pipelines[0].schedule.timezone = "+02:00";
    },
    path: "pipelines[0].schedule.timezone",
    message: "is an offset, not a time zone",
  },
  {
    what: "an unknown tool",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].tool = "fivetran";
    },
    path: `${step0}.tool`,
    message: 'expected a tool: one of "airbyte", "dbt-cloud", "grouparoo", got "fivetran"',
  },
  {
    what: "two pipelines with the same name",
    change: (c) => {
      c.pipelines.push(structuredClone(c.pipelines[0]));
    },
    path: "pipelines[1].name",
    message: 'duplicate pipeline name "rain-shield-audience" (also pipelines[0])',
  },
  {
    what: "two steps with the same name in different stages",
    change: (c) => {
      c.pipelines[0].stages[1].steps[0].name = "salesforce-contacts";
    },
    path: `${dbtStep}.name`,
    message: 'duplicate step name "salesforce-contacts" (also stages[0].steps[1])',
  },
  {
    what: "a stage without steps",
    change: (c) => {
      c.pipelines[0].stages[2].steps = [];
    },
    path: "pipelines[0].stages[2].steps",
    message: "a stage needs at least one step",
  },
  {
    what: "a pipeline without stages",
    change: (c) => {
      c.pipelines[0].stages = [];
    },
    path: "pipelines[0].stages",
    message: "a pipeline needs at least one stage",
  },
  {
    what: "a timeout of zero",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].timeoutMinutes = 0;
    },
    path: `${step0}.timeoutMinutes`,
    message: "expected a whole number of minutes from 1 to 1440 (24 hours), got 0",
  },
  {
    what: "a timeout over a day",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].timeoutMinutes = 2000;
    },
    path: `${step0}.timeoutMinutes`,
    message: "from 1 to 1440 (24 hours), got 2000",
  },
  {
    what: "a missing timeout",
    change: (c) => {
      delete c.pipelines[0].stages[0].steps[0].timeoutMinutes;
    },
    path: `${step0}.timeoutMinutes`,
    message: "is required: expected a whole number of minutes",
  },
  {
    what: "an unknown key (a typo)",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].minRow = 5;
    },
    path: `${step0}.minRow`,
    message: "unknown key: remove it or check its spelling",
  },
  {
    what: "a connection id that is not a UUID",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].connectionId = "zoom";
    },
    path: `${step0}.connectionId`,
    message: "expected the Airbyte connection id, a UUID",
  },
  {
    what: "a secret value where a secret name belongs",
    change: (c) => {
      c.tools["dbt-cloud"].tokenSecret = "dbtc_9f8e7d6c5b4a";
    },
    path: 'tools["dbt-cloud"].tokenSecret',
    message: "expected a secret name in UPPER_SNAKE_CASE",
  },
  {
    what: "a step whose tool is not declared",
    change: (c) => {
      delete c.tools.grouparoo;
    },
    path: "pipelines[0].stages[2].steps[0].tool",
    message: 'uses "grouparoo" but tools.grouparoo is not declared',
  },
  {
    what: "a poll interval as long as the timeout",
    change: (c) => {
      c.pipelines[0].stages[1].steps[0].timeoutMinutes = 1;
      c.pipelines[0].stages[1].steps[0].pollIntervalSeconds = 60;
    },
    path: `${dbtStep}.pollIntervalSeconds`,
    message: "make pollIntervalSeconds shorter than timeoutMinutes",
  },
  {
    what: "an unknown overlap policy",
    change: (c) => {
      c.pipelines[0].overlap = "cancel";
    },
    path: "pipelines[0].overlap",
    message:
      'expected "skip" (drop the new run) or "queue" (wait for the running one to finish), got "cancel"',
  },
  {
    what: "an unknown Airbyte auth kind",
    change: (c) => {
      c.tools.airbyte.auth = { kind: "oauth" };
    },
    path: "tools.airbyte.auth.kind",
    message: 'expected kind "client-credentials"',
  },
  {
    what: "a pipeline name with spaces",
    change: (c) => {
      c.pipelines[0].name = "Rain Shield";
    },
    path: "pipelines[0].name",
    message:
      'lower-case letters, digits and dashes, starting with a letter, at most 40 characters, got "Rain Shield"',
  },
  {
    what: "a base URL that is not http(s)",
    change: (c) => {
      c.tools.grouparoo.baseUrl = "ftp://grouparoo.example.com";
    },
    path: "tools.grouparoo.baseUrl",
    message: "expected an http(s) URL",
  },
];

describe("invalid configs are rejected with the path and the fix", () => {
  it.each(invalidConfigs)("$what -> $path", ({ change, path, message }) => {
    const issues = issuesOf(kickstartWith(change));
    const atPath = issues.filter((i) => i.path === path);
    expect(atPath, `issues were: ${JSON.stringify(issues)}`).toHaveLength(1);
    expect(atPath[0]?.message).toContain(message);
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
