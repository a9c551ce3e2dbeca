/**
 * The invalid configs the config tests refuse, each with the path and the message of its problem:
 * shared by the parser's tests (test/unit/config) and `tapestry validate`'s (test/cli), so both
 * are held to the same table.
 */
import kickstart from "../../tapestry.config";

// biome-ignore lint/suspicious/noExplicitAny: the tests bend configs into invalid shapes on purpose
export type Loose = Record<string, any>;

/** A deep copy of the kickstart config with one change applied. */
export function kickstartWith(change: (config: Loose) => void): unknown {
  const copy = structuredClone(kickstart) as Loose;
  change(copy);
  return copy;
}

export const step0 = "pipelines[0].stages[0].steps[0]";
export const dbtStep = "pipelines[0].stages[1].steps[0]";
export const scheduleAt = "pipelines[0].schedule.expression";
export const zoneAt = "pipelines[0].schedule.timezone";

/** Stands for "remove this key" in the table below. */
export const MISSING = Symbol("missing");

/** Sets (or deletes) the value at a path as issues write it: `a.b[0]["c-d"]`. */
export function setAt(config: Loose, path: string, value: unknown): void {
  const keys = [...path.matchAll(/([A-Za-z_$][\w$]*)|\[(\d+)\]|\["([^"]+)"\]/g)].map(
    ([, name, index, quoted]) => name ?? (index !== undefined ? Number(index) : quoted) ?? "",
  );
  const last = keys.pop() ?? "";
  const parent = keys.reduce((node, key) => node[key], config);
  if (value === MISSING) delete parent[last];
  else parent[last] = value;
}

/** [what, the path that is changed and whose problem is reported, the value put there, the message]. */
export const invalidValues: [string, string, unknown, string][] = [
  ["a dbt job id that is not a number", `${dbtStep}.jobId`, "abc", 'expected a positive integer, got "abc"'],
  [
    "a cron with five (Unix) fields",
    scheduleAt,
    "cron(0 6 * * *)",
    "has 5 fields; EventBridge Scheduler needs 6",
  ],
  [
    "a cron without ? in either day field",
    scheduleAt,
    "cron(0 6 * * * *)",
    'exactly one of day-of-month and day-of-week must be "?"',
  ],
  [
    "a cron minute out of range",
    scheduleAt,
    "cron(61 6 * * ? *)",
    'minutes field "61" has 61: allowed values are 0-59',
  ],
  ["a rate with a plural unit for 1", scheduleAt, "rate(1 hours)", 'write "rate(1 hour)"'],
  [
    "a rate in weeks",
    scheduleAt,
    "rate(2 weeks)",
    'the unit must be minute(s), hour(s) or day(s), got "weeks"',
  ],
  ["a one-time at() expression", scheduleAt, "at(2026-12-01T06:00:00)", "a pipeline schedule must recur"],
  [
    "an unknown time zone",
    zoneAt,
    "Mars/Olympus_Mons",
    'unknown time zone "Mars/Olympus_Mons": use an IANA name',
  ],
  ["a time zone in the wrong case", zoneAt, "europe/berlin", 'did you mean "Europe/Berlin"?'],
  ["a UTC offset instead of a zone", zoneAt, "+02:00", "is an offset, not a time zone"],
  [
    "an unknown tool",
    `${step0}.tool`,
    "fivetran",
    'expected a tool: one of "airbyte", "dbt-cloud", "grouparoo", got "fivetran"',
  ],
  [
    "two steps with the same name in different stages",
    `${dbtStep}.name`,
    "salesforce-contacts",
    'duplicate step name "salesforce-contacts" (also stages[0].steps[1])',
  ],
  ["a stage without steps", "pipelines[0].stages[2].steps", [], "a stage needs at least one step"],
  ["a pipeline without stages", "pipelines[0].stages", [], "a pipeline needs at least one stage"],
  [
    "a timeout of zero",
    `${step0}.timeoutMinutes`,
    0,
    "expected a whole number of minutes from 1 to 1440 (24 hours), got 0",
  ],
  ["a timeout over a day", `${step0}.timeoutMinutes`, 2000, "from 1 to 1440 (24 hours), got 2000"],
  [
    "a missing timeout",
    `${step0}.timeoutMinutes`,
    MISSING,
    "is required: expected a whole number of minutes",
  ],
  ["an unknown key (a typo)", `${step0}.minRow`, 5, "unknown key: remove it or check its spelling"],
  [
    "a secret name that is not UPPER_SNAKE_CASE",
    'tools["dbt-cloud"].tokenSecret',
    "dbt_cloud_token",
    "expected UPPER_SNAKE_CASE: an upper-case letter",
  ],
  [
    "an unknown overlap policy",
    "pipelines[0].overlap",
    "cancel",
    'expected "skip" (drop the new run) or "queue" (wait for the running one to finish), got "cancel"',
  ],
  ["an unknown Airbyte auth kind", "tools.airbyte.auth.kind", "oauth", 'expected kind "client-credentials"'],
  [
    "a pipeline name with spaces",
    "pipelines[0].name",
    "Rain Shield",
    'lower-case letters, digits and dashes, starting with a letter, at most 40 characters, got "Rain Shield"',
  ],
  [
    "a base URL that is not http(s)",
    "tools.grouparoo.baseUrl",
    "ftp://grouparoo.example.com",
    "expected an http(s) URL",
  ],
  // values are described as they are written: NaN, Infinity and -0 are not "null" or "0"
  ["NaN", `${step0}.timeoutMinutes`, Number.NaN, "from 1 to 1440 (24 hours), got NaN"],
  [
    "Infinity",
    `${step0}.timeoutMinutes`,
    Number.POSITIVE_INFINITY,
    "from 1 to 1440 (24 hours), got Infinity",
  ],
  [
    "-Infinity",
    `${step0}.timeoutMinutes`,
    Number.NEGATIVE_INFINITY,
    "from 1 to 1440 (24 hours), got -Infinity",
  ],
  ["-0", `${dbtStep}.jobId`, -0, "expected a positive integer, got -0"],
  // every limit is named in its message
  [
    "a 600-character description",
    "pipelines[0].description",
    "x".repeat(600),
    "expected text of at most 512 characters, got 600 characters",
  ],
  [
    "a number too large to be held exactly",
    `${dbtStep}.accountId`,
    2 ** 60,
    "expected a positive integer of at most 9007199254740991, got 1152921504606847000",
  ],
  ["a 41-character pipeline name", "pipelines[0].name", `p${"a".repeat(40)}`, "at most 40 characters"],
  ["a 65-character step name", `${step0}.name`, `s${"a".repeat(64)}`, "at most 64 characters"],
  [
    "a 129-character secret name",
    "tools.grouparoo.apiKeySecret",
    `K${"_".repeat(128)}`,
    "at most 128 characters",
  ],
  // what is not plain data is refused at its path
  ["a BigInt", `${dbtStep}.jobId`, 123n, "is the BigInt 123n: write the number 123 without the n"],
  ["a Date", "pipelines[0].description", new Date(0), "is a Date"],
  ["a function", "pipelines[0].overlap", () => "skip", "is a function"],
  ["a Map", "aws", new Map(), "is a Map"],
];

/** Changes that are not one value at the reported path. */
export const invalidConfigs: { what: string; change: (c: Loose) => void; path: string; message: string }[] = [
  {
    what: "a connection id that is not a UUID",
    change: (c) => {
      // the kickstart's steps name their connections: one or the other
      delete c.pipelines[0].stages[0].steps[0].connection;
      c.pipelines[0].stages[0].steps[0].connectionId = "zoom";
    },
    path: `${step0}.connectionId`,
    message: "expected the Airbyte connection id, a UUID",
  },
  {
    what: "a 33-character stage name",
    change: (c) => (c.aws = { retainDataOnStages: [`s${"a".repeat(32)}`] }),
    path: "aws.retainDataOnStages[0]",
    message: "at most 32 characters",
  },
  {
    what: "two pipelines with the same name",
    change: (c) => c.pipelines.push(structuredClone(c.pipelines[0])),
    path: "pipelines[1].name",
    message: 'duplicate pipeline name "rain-shield-audience" (also pipelines[0])',
  },
  {
    what: "a step whose tool is not declared",
    change: (c) => delete c.tools.grouparoo,
    path: "pipelines[0].stages[2].steps[0].tool",
    message: 'uses "grouparoo" but tools.grouparoo is not declared',
  },
  {
    what: "a poll interval as long as the timeout",
    change: (c) =>
      Object.assign(c.pipelines[0].stages[1].steps[0], { timeoutMinutes: 1, pollIntervalSeconds: 60 }),
    path: `${dbtStep}.pollIntervalSeconds`,
    message: "make pollIntervalSeconds shorter than timeoutMinutes",
  },
];

/** What the secret values below share: no output may contain it, or any part of it. */
export const CANARY = "Zq81CANARYv9x2Lk3Jw0";

/** [what, a secret VALUE put at tools["dbt-cloud"].tokenSecret, where its NAME belongs]. */
export const secretValuesAsNames: [string, string][] = [
  ["a dbt Cloud token", `dbtc_${CANARY}`],
  ["an OpenAI-style key", `sk-${CANARY}`],
  ["a JWT", `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${CANARY}`],
  ["a PEM block", `-----BEGIN PRIVATE KEY-----\nMIIE${CANARY}\n-----END PRIVATE KEY-----`],
  ["long random text", `${CANARY}4f9a8b7c6d5e`],
  ["an AWS access key id (upper-case, so it passes the name pattern)", "AKIAZQ81CANARYV9X2LK"],
];

/** [a schedule expression that never fires whatever the clock, the message at pipelines[0].schedule.expression]. */
export const neverFiringSchedules: [string, string][] = [
  ["cron(0 6 30 FEB ? *)", 'day-of-month "30" never occurs in month "FEB"'],
  ["cron(0 6 31 APR ? *)", 'day-of-month "31" never occurs in month "APR"'],
  ["cron(0 6 31 4,6,9,11 ? *)", 'day-of-month "31" never occurs in month "4,6,9,11"'],
  ["cron(0 6 30-31 FEB ? *)", "so the schedule would never fire"],
];
