import { ParameterNotFoundError } from "@aws-lambda-powertools/parameters/errors";
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import type { SecretReader } from "../../connectors/types";
import { SecretNotSetError, TapestryError } from "../../errors";
import { DEPLOYMENT_STAGE_NAME, secretNameProblem } from "../../names";

/** Seconds a secret's value is kept in memory (across warm invocations) before it is read again. */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/** The SSM path under which a stage's secrets live: `/tapestry/<stage>/`. */
export function secretsPath(stage: string): string {
  if (!DEPLOYMENT_STAGE_NAME.pattern.test(stage)) {
    throw new TapestryError(
      `${JSON.stringify(stage)} is not a stage name: expected ${DEPLOYMENT_STAGE_NAME.rule}`,
    );
  }
  return `/tapestry/${stage}/`;
}

/**
 * The SSM SecureString parameter that holds a secret: `/tapestry/<stage>/<NAME>`. Both parts are
 * checked against their rules first, so no name can reach outside the stage's path.
 */
export function secretParameterName(stage: string, name: string): string {
  const path = secretsPath(stage);
  const problem = secretNameProblem(name);
  // The text is never repeated: a value typed where a name belongs must not end up in a message.
  if (problem) throw new TapestryError(`not a secret name: ${problem}`);
  return `${path}${name}`;
}

export interface SsmSecretReaderOptions {
  readonly stage: string;
  /** how long a value is cached before SSM is asked again (default 300 s) */
  readonly maxAgeSeconds?: number;
  /** default: a Powertools provider with its own SSM client (region from the Lambda's environment) */
  readonly provider?: SSMProvider;
}

/**
 * Reads secrets from SSM SecureString parameters with Powertools Parameters: decrypted, and cached
 * in the provider for `maxAgeSeconds`. Build it once at module scope of a Lambda so the cache
 * survives warm invocations; a value changed with `tapestry secrets set` is seen within that time.
 * A missing parameter is a SecretNotSetError naming the fix. No message carries a value.
 */
export function createSsmSecretReader(options: SsmSecretReaderOptions): SecretReader {
  const { stage } = options;
  secretsPath(stage);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  if (!Number.isFinite(maxAge) || maxAge < 0) {
    throw new TapestryError(`maxAgeSeconds must be 0 or more seconds, got ${maxAge}`);
  }
  const provider = options.provider ?? new SSMProvider();

  return async (name) => {
    const parameter = secretParameterName(stage, name);
    let value: unknown;
    try {
      value = await provider.get(parameter, { decrypt: true, maxAge, throwOnMissing: true });
    } catch (error) {
      if (isParameterNotFound(error)) throw new SecretNotSetError(name, stage, { cause: error });
      throw new TapestryError(
        `could not read secret ${name} of stage ${stage} from SSM (${parameter}): ${describeSdkError(error)}`,
        { cause: error },
      );
    }
    if (typeof value !== "string" || value === "") {
      throw new TapestryError(
        `secret ${name} of stage ${stage} (${parameter}) has no text value: set it again with \`tapestry secrets set ${name} --stage ${stage}\``,
      );
    }
    return value;
  };
}

/** True for SSM's ParameterNotFound, however it arrives (raw from the SDK or wrapped by Powertools). */
export function isParameterNotFound(error: unknown): boolean {
  if (error instanceof ParameterNotFoundError) return true;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (e.name === "ParameterNotFound") return true;
  }
  return false;
}

/** `<ErrorName>: <message>` of the innermost SDK error, for messages (SDK read errors carry no values). */
export function describeSdkError(error: unknown): string {
  let e: unknown = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
