import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  GetParametersByPathCommand,
  type Parameter,
  PutParameterCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import { SecretNotSetError, TapestryError } from "../../errors";
import { redact } from "../../logging";
import { describeSdkError } from "./sdk-errors";
import { isParameterNotFound, secretParameterName, secretsPath } from "./ssm-secrets";

/** A secret found under the stage's path: its name and metadata, never its value. */
export interface SecretListing {
  /** the secret's NAME (the last part of the parameter name) */
  readonly name: string;
  /** ISO 8601 */
  readonly lastModified?: string;
  readonly version?: number;
  /** the parameter's type: "SecureString" unless someone created it by hand as plain text */
  readonly type?: string;
}

/** A value `tapestry secrets set` cannot store (empty, or longer than SSM takes); the message never shows it. */
export class InvalidSecretValueError extends TapestryError {
  override readonly name = "InvalidSecretValueError";
}

/** SSM refused to store, tag, list or remove a stage's secrets; the message names the call, the parameter and SSM's error. */
export class SecretStoreError extends TapestryError {
  override readonly name = "SecretStoreError";
}

/** SSM's limit for a Standard parameter's value. */
const MAX_VALUE_BYTES = 4096;

/**
 * Writes, lists and removes a stage's secrets: SSM SecureString parameters under
 * `/tapestry/<stage>/`, encrypted with the account's `aws/ssm` key. Used by `tapestry secrets`;
 * the deployed functions only read (createSsmSecretReader). Values go in and never come out:
 * listing reads metadata without decryption, and no message carries a value.
 */
export class SsmSecretStore {
  readonly stage: string;
  readonly path: string;
  private readonly client: SSMClient;

  constructor(options: { client: SSMClient; stage: string }) {
    this.client = options.client;
    this.stage = options.stage;
    this.path = secretsPath(options.stage);
  }

  /** The parameter that holds `name` (checks the name first). */
  parameterName(name: string): string {
    return secretParameterName(this.stage, name);
  }

  /** Creates or replaces a secret's value; answers the parameter's new version. */
  async set(name: string, value: string): Promise<{ readonly version?: number }> {
    const parameter = this.parameterName(name);
    if (value === "")
      throw new InvalidSecretValueError(`the value of secret ${name} is empty: nothing was stored`);
    if (Buffer.byteLength(value, "utf8") > MAX_VALUE_BYTES) {
      throw new InvalidSecretValueError(
        `the value of secret ${name} is longer than ${MAX_VALUE_BYTES} bytes, SSM's limit for a standard parameter: nothing was stored`,
      );
    }
    let version: number | undefined;
    try {
      const answer = await this.client.send(
        new PutParameterCommand({
          Name: parameter,
          Value: value,
          Type: "SecureString",
          Overwrite: true,
          Description: `Tapestry secret ${name} of stage ${this.stage} (set with tapestry secrets set)`,
        }),
      );
      version = answer.Version;
    } catch (error) {
      // A validation message can echo the value it rejected: nothing of it leaves unredacted.
      const safe = redactedCopy(error, value);
      throw new SecretStoreError(
        `could not store secret ${name} of stage ${this.stage} in SSM (${parameter}): ${describeSdkError(safe)}`,
        { cause: safe },
      );
    }
    try {
      await this.client.send(
        new AddTagsToResourceCommand({
          ResourceType: "Parameter",
          ResourceId: parameter,
          Tags: [
            { Key: "app", Value: "tapestry" },
            { Key: "stage", Value: this.stage },
          ],
        }),
      );
    } catch (error) {
      throw new SecretStoreError(
        `secret ${name} of stage ${this.stage} was stored (${parameter}${version === undefined ? "" : `, version ${version}`}) but tagging it failed: ${describeSdkError(error)}`,
        { cause: error },
      );
    }
    return { version };
  }

  /** Every parameter directly under the stage's path, by name; metadata only (no decryption). */
  async list(): Promise<SecretListing[]> {
    const listings: SecretListing[] = [];
    let nextToken: string | undefined;
    do {
      let page: { Parameters?: Parameter[]; NextToken?: string };
      try {
        page = await this.client.send(
          new GetParametersByPathCommand({
            Path: this.path,
            Recursive: false,
            WithDecryption: false,
            MaxResults: 10,
            NextToken: nextToken,
          }),
        );
      } catch (error) {
        throw new SecretStoreError(
          `could not list the secrets of stage ${this.stage} in SSM (${this.path}): ${describeSdkError(error)}`,
          { cause: error },
        );
      }
      for (const parameter of page.Parameters ?? []) {
        if (!parameter.Name?.startsWith(this.path)) continue;
        listings.push({
          name: parameter.Name.slice(this.path.length),
          lastModified: parameter.LastModifiedDate?.toISOString(),
          version: parameter.Version,
          type: parameter.Type,
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return listings.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Deletes a secret; a secret that is not there is a SecretNotSetError. */
  async remove(name: string): Promise<void> {
    const parameter = this.parameterName(name);
    try {
      await this.client.send(new DeleteParameterCommand({ Name: parameter }));
    } catch (error) {
      if (isParameterNotFound(error)) throw new SecretNotSetError(name, this.stage, { cause: error });
      throw new SecretStoreError(
        `could not remove secret ${name} of stage ${this.stage} from SSM (${parameter}): ${describeSdkError(error)}`,
        { cause: error },
      );
    }
  }
}

/** The error's name, message and HTTP status with the value redacted; the SDK's original is not kept. */
function redactedCopy(error: unknown, value: string): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  // the value as is, JSON-escaped (how a multi-line value shows in a message), and line by line
  const forms = [value, JSON.stringify(value).slice(1, -1), ...value.split(/\r?\n/)];
  const copy = new Error(redact(source.message, forms));
  copy.name = source.name;
  const status = (source as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) Object.assign(copy, { $metadata: { httpStatusCode: status } });
  return copy;
}
