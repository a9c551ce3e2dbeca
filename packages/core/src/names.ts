/**
 * Every naming rule of Tapestry, written once: the tools it drives, and the patterns of the names
 * a user chooses (pipelines, their stages and steps, secrets, deployment stages). The config
 * schema, the SSM adapters, the CLI and the deployed functions' environment check all read them
 * from here, so a rule cannot drift between the place that accepts a name and the place that uses it.
 */

import { TapestryError } from "./errors";

/** The tools Tapestry drives, in pipeline order. Adding one here makes the compiler ask for it everywhere. */
export const TOOL_NAMES = ["airbyte", "dbt-cloud", "grouparoo"] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export function isToolName(value: unknown): value is ToolName {
  return typeof value === "string" && (TOOL_NAMES as readonly string[]).includes(value);
}

/** A name rule: the pattern, and the same rule in words for messages. */
export interface NameRule {
  readonly pattern: RegExp;
  /** the rule in words, e.g. "lower-case letters, digits and dashes, starting with a letter, at most 40 characters" */
  readonly rule: string;
}

/**
 * A pipeline's name: it also makes run ids and Step Functions execution names (at most 80
 * characters, `<pipeline>-m<ULID>`), schedule names and metric dimensions, so at most 40.
 */
export const PIPELINE_NAME: NameRule = {
  pattern: /^[a-z][a-z0-9-]{0,39}$/,
  rule: "lower-case letters, digits and dashes, starting with a letter, at most 40 characters",
};

/** A stage's or a step's name within a pipeline: it ends up in events, URLs and metric dimensions. */
export const STEP_NAME: NameRule = {
  pattern: /^[a-z][a-z0-9-]{0,63}$/,
  rule: "lower-case letters, digits and dashes, starting with a letter, at most 64 characters",
};

/** The NAME of a secret (an SSM SecureString `/tapestry/<stage>/<NAME>` on AWS), never its value. */
export const SECRET_NAME: NameRule = {
  pattern: /^[A-Z][A-Z0-9_]{0,127}$/,
  rule: 'UPPER_SNAKE_CASE: an upper-case letter, then upper-case letters, digits and underscores, at most 128 characters, e.g. "DBT_CLOUD_TOKEN"',
};

/** A deployment stage (`sst deploy --stage <name>`): SST puts it in stack names, Tapestry in SSM paths. */
export const DEPLOYMENT_STAGE_NAME: NameRule = {
  pattern: /^[a-zA-Z][a-zA-Z0-9-]{0,31}$/,
  rule: "letters, digits and dashes, starting with a letter, at most 32 characters",
};

/**
 * A name that breaks its rule where it is used (a stage or a secret name given to the SSM
 * adapters or the CLI). The message gives the rule, and never repeats text that may be a secret.
 */
export class InvalidNameError extends TapestryError {
  override readonly name = "InvalidNameError";
}

/** What to say when a secret value sits where a secret NAME belongs; the value itself is never repeated. */
export const SECRET_VALUE_HINT =
  "this looks like a secret value; put its NAME here and set the value with `tapestry secrets set`";

/**
 * Why `value` is not a secret name, or undefined when it is one. The answer never contains the
 * value: text that is not a name may well be the secret itself (a token pasted into the config).
 */
export function secretNameProblem(value: unknown): string | undefined {
  if (typeof value !== "string") {
    return `expected the NAME of a secret, in ${SECRET_NAME.rule} (its value is set with \`tapestry secrets set\`)`;
  }
  if (SECRET_NAME.pattern.test(value) && !looksLikeSecretValue(value)) return undefined;
  if (looksLikeSecretValue(value)) {
    return `${SECRET_VALUE_HINT} (a secret's name is ${SECRET_NAME.rule}; what was given is not repeated)`;
  }
  return `expected ${SECRET_NAME.rule}: the NAME of a secret, not its value (what was given is not repeated, in case it is a value)`;
}

/** Prefixes of API tokens people are likely to paste: dbt Cloud, OpenAI/Stripe, GitHub, Slack, GitLab, npm. */
const TOKEN_PREFIXES =
  /^(dbtc_|dbtu_|sk-|sk_|rk_|pk_|ghp_|gho_|ghs_|ghu_|github_pat_|xox[abpr]-|glpat-|npm_)/;

/**
 * A heuristic for "this text is a credential, not a name": a PEM block, a JWT, a known token
 * prefix, an AWS access key id, or a long run of letters and digits. It only decides which
 * message to show; nothing that fails the name rule is echoed either way.
 */
export function looksLikeSecretValue(text: string): boolean {
  if (/-----BEGIN [A-Z ]+-----/.test(text)) return true;
  if (/^eyJ[\w-]+\.eyJ[\w-]*\.[\w-]*$/.test(text)) return true;
  if (TOKEN_PREFIXES.test(text)) return true;
  if (/^(AKIA|ASIA)[A-Z0-9]{16}$/.test(text)) return true;
  if (/\s/.test(text.trim())) return false;
  const digits = (text.match(/\d/g) ?? []).length;
  const letters = (text.match(/[A-Za-z]/g) ?? []).length;
  // a name has words joined by underscores; a key is one long run of mixed letters and digits
  if (!text.includes("_") && text.length >= 20 && digits >= 3 && letters >= 3) return true;
  return !SECRET_NAME.pattern.test(text) && text.length >= 16 && digits >= 2 && letters >= 2;
}
