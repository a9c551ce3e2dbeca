import type { SecretReader } from "@tapestry/core/connectors";
import { SecretReadError, TapestryError } from "@tapestry/core/errors";
import type { Prompter } from "./prompts";

/**
 * Secret values a command needs before it does anything (`tapestry local --real`, `tapestry
 * kickstart`): from `TAPESTRY_SECRET_<NAME>` variables of the invoking shell, else asked for with
 * hidden input on a terminal. Never from an argument or a file. Kept in memory only.
 */

/** The prefix of the variables secrets are read from. */
export const SECRET_VARIABLE_PREFIX = "TAPESTRY_SECRET_";

/**
 * The variable a secret is read from: `TAPESTRY_SECRET_` and its name upper-cased, dashes as
 * underscores (a config's names are UPPER_SNAKE_CASE already: DBT_CLOUD_TOKEN ->
 * TAPESTRY_SECRET_DBT_CLOUD_TOKEN).
 */
export function secretVariable(name: string): string {
  return `${SECRET_VARIABLE_PREFIX}${name.toUpperCase().replace(/-/g, "_")}`;
}

/** A secret a command needs, and why (said when it is asked for or missing). */
export interface NeededSecret {
  readonly name: string;
  /** e.g. `tools.airbyte.auth.clientSecretSecret` */
  readonly field: string;
}

/** Secrets are missing and there is no terminal to ask for them: exit 2, each variable named. */
export class SecretsMissingError extends TapestryError {
  override readonly name = "SecretsMissingError";
  constructor(
    readonly variables: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * Every needed secret's value, in the order given (each name once): its variable when set, else
 * asked for when `prompter` is given (a terminal). Without one, a missing secret is a
 * SecretsMissingError listing every variable to set, and nothing was asked.
 */
export async function collectSecrets(
  needed: readonly NeededSecret[],
  environment: Readonly<Record<string, string | undefined>>,
  prompter: Prompter | undefined,
  purpose: string,
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const unique = [...new Map(needed.map((s) => [s.name, s])).values()];
  const missing = unique.filter((secret) => {
    const value = environment[secretVariable(secret.name)];
    if (value !== undefined && value !== "") values.set(secret.name, value);
    return !values.has(secret.name);
  });
  if (missing.length === 0) return values;
  if (!prompter) {
    const variables = missing.map((s) => secretVariable(s.name));
    throw new SecretsMissingError(
      variables,
      `${purpose} needs ${missing.length} secret${missing.length === 1 ? "" : "s"} that ${
        missing.length === 1 ? "is" : "are"
      } not set, and there is no terminal to ask: set ${missing
        .map((s) => `${secretVariable(s.name)} (${s.field})`)
        .join(", ")} in the environment (never an argument or a file), or run in a terminal to be asked`,
    );
  }
  for (const secret of missing) {
    values.set(secret.name, await prompter.secret(`${secret.name} (${secret.field})`));
  }
  return values;
}

/** A reader of the collected values; a name not collected is an error that says so. */
export function collectedSecretReader(values: ReadonlyMap<string, string>, purpose: string): SecretReader {
  return async (name) => {
    const value = values.get(name);
    if (value === undefined) {
      throw new SecretReadError(
        name,
        `secret ${name} was not among the secrets ${purpose} collected at start: set ${secretVariable(name)}`,
      );
    }
    return value;
  };
}
