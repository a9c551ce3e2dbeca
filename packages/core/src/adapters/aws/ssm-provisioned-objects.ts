import {
  GetParameterCommand,
  GetParametersByPathCommand,
  type GetParametersByPathCommandOutput,
  PutParameterCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import type { ConnectionIdResolver } from "../../connectors/types";
import { ConnectionNotProvisionedError, ProvisioningStoreUnavailableError } from "../../provisioning/errors";
import {
  AIRBYTE_OBJECT_KINDS,
  type AirbyteObjectKind,
  type ProvisionedObject,
  type ProvisionedObjects,
} from "../../provisioning/store";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";
import { isParameterNotFound, secretsPath } from "./ssm-secrets";

/**
 * The ids provisioning recorded, as SSM String parameters (never SecureString: an id and a hash
 * are no secret) `/tapestry/<stage>/provisioning/airbyte/<kind>/<name>` holding
 * `{"id", "secretsHash"?, "updatedAt"}`. SSM rather than the ledger table: the pipeline functions
 * that resolve a step's connection name already read SSM under the stage's path, and each role can
 * be granted exactly the parameters of the names it needs (stacks/provisioning.ts). ADR 0021.
 */
export function provisionedObjectsPath(stage: string): string {
  return `${secretsPath(stage)}provisioning/airbyte/`;
}

/**
 * A parameter's name for an object: a name of letters, digits, `.` and `-` is kept as it is (the
 * config's source, destination and connection names are); any other character (the workspace's
 * name is free text) becomes `_` and its UTF-8 bytes in hex, which SSM's name rules allow.
 */
export function provisionedObjectParameterName(stage: string, kind: AirbyteObjectKind, name: string): string {
  return `${provisionedObjectsPath(stage)}${kind}/${encodeName(name)}`;
}

function encodeName(name: string): string {
  return [...name]
    .map((c) =>
      /^[A-Za-z0-9.-]$/.test(c)
        ? c
        : `_${[...Buffer.from(c, "utf8")].map((b) => b.toString(16).padStart(2, "0")).join("")}_`,
    )
    .join("");
}

function decodeName(encoded: string): string {
  return encoded.replace(/_([0-9a-f]+)_/g, (_, hex: string) => Buffer.from(hex, "hex").toString("utf8"));
}

export class SsmProvisionedObjects implements ProvisionedObjects {
  private readonly client: SSMClient;
  private readonly stage: string;

  constructor(options: { client: SSMClient; stage: string }) {
    this.client = options.client;
    this.stage = options.stage;
  }

  async get(kind: AirbyteObjectKind, name: string): Promise<ProvisionedObject | undefined> {
    const parameter = provisionedObjectParameterName(this.stage, kind, name);
    try {
      const answer = await this.client.send(new GetParameterCommand({ Name: parameter }));
      return objectOf(kind, name, answer.Parameter?.Value);
    } catch (error) {
      if (isParameterNotFound(error)) return undefined;
      throw this.failure(parameter, error);
    }
  }

  async put(object: ProvisionedObject): Promise<void> {
    const parameter = provisionedObjectParameterName(this.stage, object.kind, object.name);
    const value = JSON.stringify({
      id: object.id,
      ...(object.secretsHash ? { secretsHash: object.secretsHash } : {}),
      updatedAt: object.updatedAt,
    });
    try {
      await this.client.send(
        new PutParameterCommand({
          Name: parameter,
          Value: value,
          Type: "String",
          Overwrite: true,
          Description: `Tapestry ${this.stage}: the id of Airbyte ${object.kind} ${object.name} (written by provisioning)`,
        }),
      );
    } catch (error) {
      throw this.failure(parameter, error);
    }
  }

  async list(): Promise<readonly ProvisionedObject[]> {
    const path = provisionedObjectsPath(this.stage);
    const objects: ProvisionedObject[] = [];
    let token: string | undefined;
    do {
      let answer: GetParametersByPathCommandOutput;
      try {
        answer = await this.client.send(
          new GetParametersByPathCommand({ Path: path, Recursive: true, NextToken: token }),
        );
      } catch (error) {
        throw this.failure(path, error);
      }
      for (const parameter of answer.Parameters ?? []) {
        const [kind, encoded] = (parameter.Name ?? "").slice(path.length).split("/");
        if (!AIRBYTE_OBJECT_KINDS.includes(kind as AirbyteObjectKind) || !encoded) continue;
        const object = objectOf(kind as AirbyteObjectKind, decodeName(encoded), parameter.Value);
        if (object) objects.push(object);
      }
      token = answer.NextToken;
    } while (token);
    return objects.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }

  /** SSM's "not now" is ProvisioningStoreUnavailableError (retried by name); any other failure is thrown as it is. */
  private failure(parameter: string, error: unknown): unknown {
    if (!isTransientSdkError(error)) return error;
    return new ProvisioningStoreUnavailableError(
      `the provisioning store (SSM ${parameter}) is unavailable for now: ${describeSdkError(error)}`,
      { cause: error },
    );
  }
}

/**
 * A connection's id by its name, as the pipeline functions resolve a step's `connection`: the
 * parameter provisioning wrote, or ConnectionNotProvisionedError naming the fix.
 */
export function ssmConnectionIds(objects: Pick<ProvisionedObjects, "get">): ConnectionIdResolver {
  return async (name) => {
    const recorded = await objects.get("connection", name);
    if (!recorded) throw new ConnectionNotProvisionedError(name);
    return recorded.id;
  };
}

function objectOf(
  kind: AirbyteObjectKind,
  name: string,
  value: string | undefined,
): ProvisionedObject | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const { id, secretsHash, updatedAt } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof id !== "string" || typeof updatedAt !== "string") return undefined;
  return { kind, name, id, ...(typeof secretsHash === "string" ? { secretsHash } : {}), updatedAt };
}
