import type * as z from "zod";

/**
 * The one place zod issues become text a person reads: the path (`pipelines[0].stages[1].name`),
 * the schema's own message, and (where the caller wants it) the input described safely. Used by
 * the config, the status API's request parsing, the connectors' answer parsing, the event
 * envelope, the scenario files and the deployed functions' environment check.
 */

/** A problem at a place in a document. */
export interface PathMessage {
  /** e.g. `pipelines[0].stages[1].steps[0].jobId`; the root's name (default "(root)") for the whole document */
  readonly path: string;
  readonly message: string;
}

export interface IssueWording {
  /** how the empty path reads (default "(root)") */
  readonly root?: string;
  /**
   * The message for a key the schema does not know (default "unknown key: remove it or check its
   * spelling"); a function gets the issue, e.g. to keep a schema's own list of the allowed keys.
   */
  readonly unknownKey?: string | ((issue: z.core.$ZodIssueUnrecognizedKeys) => string);
  /**
   * Append ", got <input>" (the input described by describeValue). Needs `reportInput: true` at
   * safeParse. Off for answers from elsewhere (a tool's body, an event) whose values are not the
   * reader's own; custom issues never get it (their checks word their own message).
   */
  readonly describeInput?: boolean;
}

const DEFAULT_UNKNOWN_KEY = "unknown key: remove it or check its spelling";

/**
 * `a.b[0].c`, with keys that are not identifiers quoted in brackets (`tools["dbt-cloud"]`); a first
 * key of letters, digits and dashes stays bare (`dbt-cloud.rules[0]`), as in a YAML document.
 */
export function formatPath(path: readonly PropertyKey[], root = "(root)"): string {
  if (path.length === 0) return root;
  return path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      const text = typeof key === "symbol" ? (key.description ?? "symbol") : key;
      if (/^[A-Za-z_$][\w$]*$/.test(text)) return i === 0 ? text : `.${text}`;
      if (i === 0 && /^[\w$-]+$/.test(text)) return text;
      return `[${JSON.stringify(text)}]`;
    })
    .join("");
}

const MAX_TEXT = 80;

/**
 * A value as a message shows it: text quoted (cut at 80 characters), numbers as JavaScript writes
 * them (NaN, Infinity and -0 included, which JSON would turn into null or 0), a BigInt with its
 * `n`, and containers by kind only. Never throws, whatever the value.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "nothing";
    case "string": {
      const text = JSON.stringify(value);
      return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 4)}..."` : text;
    }
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `the BigInt ${value}n`;
    case "boolean":
      return String(value);
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return `a list of ${value.length}`;
      return "an object";
  }
}

/** One issue as path + message. */
export function issueMessages(issue: z.core.$ZodIssue, wording: IssueWording = {}): PathMessage[] {
  const root = wording.root ?? "(root)";
  if (issue.code === "unrecognized_keys") {
    const { unknownKey = DEFAULT_UNKNOWN_KEY } = wording;
    const message = typeof unknownKey === "function" ? unknownKey(issue) : unknownKey;
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key], root), message }));
  }
  const path = formatPath(issue.path, root);
  if (issue.code === "invalid_union" && issue.discriminator) {
    // zod reports the whole object; the reader needs the discriminator's own place and value
    const input = issue.input;
    const holder = input !== null && typeof input === "object" && !Array.isArray(input);
    const value = holder ? (input as Record<string, unknown>)[issue.discriminator] : undefined;
    const onKey = issue.path.at(-1) === issue.discriminator || !holder;
    const at = onKey ? path : formatPath([...issue.path, issue.discriminator], root);
    if (holder && value === undefined) return [{ path: at, message: `is required: ${issue.message}` }];
    return [{ path: at, message: withInput(issue.message, value, wording) }];
  }
  if (issue.code === "custom") return [{ path, message: issue.message }];
  if (wording.describeInput && issue.code === "invalid_type" && issue.input === undefined) {
    return [{ path, message: `is required: ${issue.message}` }];
  }
  if ((issue.code === "too_big" || issue.code === "too_small") && issue.origin === "string") {
    const length = typeof issue.input === "string" ? issue.input.length : undefined;
    if (wording.describeInput && length !== undefined) {
      return [{ path, message: `${issue.message}, got ${length} character${length === 1 ? "" : "s"}` }];
    }
  }
  return [{ path, message: withInput(issue.message, issue.input, wording) }];
}

/** Every issue as path + message, in zod's order. */
export function issuesAsMessages(
  issues: readonly z.core.$ZodIssue[],
  wording: IssueWording = {},
): PathMessage[] {
  return issues.flatMap((issue) => issueMessages(issue, wording));
}

/** Every issue on one line: `path: message; path: message` (a message alone where the path is empty and root is ""). */
export function issuesText(issues: readonly z.core.$ZodIssue[], wording: IssueWording = {}): string {
  return issuesAsMessages(issues, wording)
    .map(({ path, message }) => (path === "" ? message : `${path}: ${message}`))
    .join("; ");
}

function withInput(message: string, input: unknown, wording: IssueWording): string {
  if (!wording.describeInput || input === undefined) return message;
  return `${message}, got ${describeValue(input)}`;
}
