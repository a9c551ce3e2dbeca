import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { SecretNotSetError, SecretReadError, SecretUnavailableError } from "../../errors";
import type { PrivateKeyStore } from "../../provisioning/warehouse/contract";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";
import { SsmSecretStore } from "./secret-store";
import { isParameterNotFound, secretParameterName } from "./ssm-secrets";

/**
 * The warehouse bootstrap's secrets on SSM: the service users' private keys, read and written as
 * SecureString parameters `/tapestry/<stage>/<NAME>` (written through SsmSecretStore, so they are
 * tagged like every other secret), and the admin's secrets read. Reads go to SSM each time (no
 * cache): the bootstrap reads a key right before it may replace it.
 */
export class SsmPrivateKeyStore implements PrivateKeyStore {
  private readonly client: SSMClient;
  private readonly stage: string;
  private readonly store: SsmSecretStore;

  constructor(options: { client: SSMClient; stage: string }) {
    this.client = options.client;
    this.stage = options.stage;
    this.store = new SsmSecretStore(options);
  }

  async read(name: string): Promise<string | undefined> {
    const parameter = secretParameterName(this.stage, name);
    try {
      const answer = await this.client.send(
        new GetParameterCommand({ Name: parameter, WithDecryption: true }),
      );
      const value = answer.Parameter?.Value;
      if (value === undefined || value === "") {
        throw new SecretReadError(
          name,
          `secret ${name} of stage ${this.stage} (${parameter}) has no text value`,
        );
      }
      return value;
    } catch (error) {
      if (error instanceof SecretReadError) throw error;
      if (isParameterNotFound(error)) return undefined;
      if (isTransientSdkError(error)) {
        throw new SecretUnavailableError(name, `SSM (${parameter}): ${describeSdkError(error)}`, {
          cause: error,
        });
      }
      throw new SecretReadError(
        name,
        `could not read secret ${name} of stage ${this.stage} from SSM (${parameter}): ${describeSdkError(error)}`,
        { cause: error },
      );
    }
  }

  /** A secret that must be set (the admin's): missing is SecretNotSetError, naming the command that sets it. */
  async readRequired(name: string): Promise<string> {
    const value = await this.read(name);
    if (value === undefined) throw new SecretNotSetError(name, this.stage);
    return value;
  }

  async write(name: string, pem: string): Promise<void> {
    await this.store.set(name, pem);
  }
}
