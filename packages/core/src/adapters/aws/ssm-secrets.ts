import { ParameterNotFoundError } from "@aws-lambda-powertools/parameters/errors";
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import type { SecretReader } from "../../connectors/types";
import { SecretNotSetError, SecretReadError, SecretUnavailableError, TapestryError } from "../../errors";
import { DEPLOYMENT_STAGE_NAME, InvalidNameError, secretNameProblem } from "../../names";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";

/** Seconds a secret's value is kept in memory (across warm invocations) before it is read again. */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/** The SSM path under which a stage's secrets live: `/tapestry/<stage>/`. */
export function secretsPath(stage: string): string {
  if (!DEPLOYMENT_STAGE_NAME.pattern.test(stage)) {
    throw new InvalidNameError(
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
  if (problem) throw new InvalidNameError(`not a secret name: ${problem}`);
  return `${path}${name}`;
}

/** The secret reader was built with options it cannot use (a programming error, met at cold start). */
export class SecretReaderOptionsError extends TapestryError {
  override readonly name = "SecretReaderOptionsError";
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
 * A missing parameter is a SecretNotSetError naming the fix; a read that SSM refuses for now
 * (throttled, timed out, a service error) a SecretUnavailableError, which the state machine
 * retries; any other failure a SecretReadError. No message carries a value.
 */
export function createSsmSecretReader(options: SsmSecretReaderOptions): SecretReader {
  const { stage } = options;
  secretsPath(stage);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  if (!Number.isFinite(maxAge) || maxAge < 0) {
    throw new SecretReaderOptionsError(`maxAgeSeconds must be 0 or more seconds, got ${maxAge}`);
  }
  const provider = options.provider ?? new SSMProvider();

  return async (name) => {
    const parameter = secretParameterName(stage, name);
    let value: unknown;
    try {
      value = await provider.get(parameter, { decrypt: true, maxAge, throwOnMissing: true });
    } catch (error) {
      if (isParameterNotFound(error)) throw new SecretNotSetError(name, stage, { cause: error });
      if (isTransientSdkError(error)) {
        throw new SecretUnavailableError(name, `SSM (${parameter}): ${describeSdkError(error)}`, {
          cause: error,
        });
      }
      throw new SecretReadError(
        name,
        `could not read secret ${name} of stage ${stage} from SSM (${parameter}): ${describeSdkError(error)}`,
        { cause: error },
      );
    }
    if (typeof value !== "string" || value === "") {
      throw new SecretReadError(
        name,
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
