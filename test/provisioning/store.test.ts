import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  ThrottlingException,
} from "@aws-sdk/client-ssm";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  type AirbyteObjectKind,
  ConnectionNotProvisionedError,
  newRunRecord,
  type ProvisionedObject,
  type ProvisionedObjects,
  type ProvisioningRuns,
  ProvisioningStoreUnavailableError,
  provisioningRunId,
} from "@tapestry/core/provisioning";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
// the modules themselves, not the barrel: the barrel also loads the other AWS adapters
import { DynamoDbProvisioningRuns } from "../../packages/core/src/adapters/aws/dynamodb-provisioning-runs";
import {
  provisionedObjectParameterName,
  SsmProvisionedObjects,
  ssmConnectionIds,
} from "../../packages/core/src/adapters/aws/ssm-provisioned-objects";
import { SqliteProvisioningStore } from "../../packages/local/src/ledger";
import { type EmulatedLedgerTable, startLedgerTable } from "../support/dynamodb-emulator";

/**
 * Provisioning's two stores (shared rule 3): its runs and lock, and the ids it records. One
 * contract each, run on the embedded adapter (SQLite) and the AWS one (DynamoDB on dynalite; SSM
 * through aws-sdk-client-mock over an in-memory parameter store).
 */

const T0 = Date.parse("2026-12-06T10:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const STEPS = ["validate", "ensure-airbyte", "record-outputs"] as const;
const runAt = (seconds: number) => newRunRecord(provisioningRunId(at(seconds)), "api", iso(seconds), STEPS);

interface RunsRig {
  readonly runs: ProvisioningRuns;
  /** moves the store's clock (the lock's expiry is judged against it) */
  setNow(seconds: number): void;
  close(): Promise<void>;
}

function describeProvisioningRunsContract(name: string, open: (now: () => Date) => Promise<RunsRig>) {
  describe(`${name}: provisioning runs and their lock`, () => {
    const rigs: RunsRig[] = [];
    afterEach(async () => {
      await Promise.all(rigs.splice(0).map((rig) => rig.close()));
    });
    const rig = async () => {
      let now = at(0);
      const opened = await open(() => now);
      const wrapped: RunsRig = {
        runs: opened.runs,
        setNow: (seconds) => {
          now = at(seconds);
        },
        close: opened.close,
      };
      rigs.push(wrapped);
      return wrapped;
    };

    it("begins a run on a free lock and answers it as the last run", async () => {
      const { runs } = await rig();
      const first = runAt(0);
      expect(await runs.begin(first, iso(600))).toEqual({ begun: true });
      expect(await runs.getRun(first.runId)).toEqual(first);
      expect(await runs.last()).toEqual(first);
    });

    it("refuses a second run while the first holds the lock, naming the holder, and writes nothing for it", async () => {
      const { runs } = await rig();
      const first = runAt(0);
      const second = runAt(5);
      await runs.begin(first, iso(600));
      expect(await runs.begin(second, iso(605))).toEqual({ begun: false, activeRunId: first.runId });
      expect(await runs.getRun(second.runId)).toBeUndefined();
      expect((await runs.last())?.runId).toBe(first.runId);
    });

    it("begins the same run again (a retried task) without overwriting what it has saved since", async () => {
      const { runs } = await rig();
      const first = runAt(0);
      await runs.begin(first, iso(600));
      const later = { ...first, steps: first.steps.map((s) => ({ ...s, status: "succeeded" as const })) };
      await runs.save(later);
      expect(await runs.begin(first, iso(600))).toEqual({ begun: true });
      expect(await runs.getRun(first.runId)).toEqual(later);
    });

    it("lets a run take a lock whose holder outlived its expiry", async () => {
      const rigged = await rig();
      await rigged.runs.begin(runAt(0), iso(60));
      rigged.setNow(61);
      const second = runAt(61);
      expect(await rigged.runs.begin(second, iso(661))).toEqual({ begun: true });
      expect((await rigged.runs.last())?.runId).toBe(second.runId);
    });

    it("frees the lock only for its holder", async () => {
      const { runs } = await rig();
      const first = runAt(0);
      const second = runAt(5);
      await runs.begin(first, iso(600));
      await runs.release(second.runId);
      expect(await runs.begin(second, iso(605))).toEqual({ begun: false, activeRunId: first.runId });
      await runs.release(first.runId);
      expect(await runs.begin(second, iso(605))).toEqual({ begun: true });
      // the first run's record stays, the second is the last
      expect((await runs.getRun(first.runId))?.runId).toBe(first.runId);
      expect((await runs.last())?.runId).toBe(second.runId);
    });

    it("answers nothing before the first run, and undefined for an unknown run", async () => {
      const { runs } = await rig();
      expect(await runs.last()).toBeUndefined();
      expect(await runs.getRun(runAt(0).runId)).toBeUndefined();
    });
  });
}

describeProvisioningRunsContract("SqliteProvisioningStore", async (now) => {
  const store = SqliteProvisioningStore.open(":memory:", { now });
  return { runs: store, setNow: () => {}, close: async () => store.close() };
});

const TABLE_NAME = "tapestry-ledger";
const tables: EmulatedLedgerTable[] = [];
afterEach(async () => {
  await Promise.all(tables.splice(0).map((table) => table.close()));
});

describeProvisioningRunsContract("DynamoDbProvisioningRuns (dynalite)", async (now) => {
  const table = await startLedgerTable(TABLE_NAME);
  return {
    runs: new DynamoDbProvisioningRuns({ client: table.client(), tableName: TABLE_NAME, now }),
    setNow: () => {},
    close: () => table.close(),
  };
});

describe("DynamoDbProvisioningRuns in the ledger's table", () => {
  it("keeps its items under PROV# keys, the lock with a TTL at its expiry, beside the run ledger's", async () => {
    const table = await startLedgerTable(TABLE_NAME);
    tables.push(table);
    const runs = new DynamoDbProvisioningRuns({
      client: table.client(),
      tableName: TABLE_NAME,
      now: () => at(0),
    });
    const first = runAt(0);
    await runs.begin(first, iso(600));
    const items = await table.items();
    expect(items.map((item) => [item.pk, item.sk])).toEqual([
      ["PROV#LOCK", "LOCK"],
      ["PROV#RUNS", first.runId],
    ]);
    expect(items[0]).toMatchObject({
      runId: first.runId,
      expiresAt: iso(600),
      ttl: Math.ceil(at(600).getTime() / 1000),
    });
  });

  it("names DynamoDB's throttling ProvisioningStoreUnavailableError, which the state machine retries", async () => {
    const table = await startLedgerTable(TABLE_NAME);
    tables.push(table);
    const client = table.client();
    const mock = mockClient(client);
    mock
      .on(PutCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} }));
    const runs = new DynamoDbProvisioningRuns({ client, tableName: TABLE_NAME });
    await expect(runs.begin(runAt(0), iso(600))).rejects.toBeInstanceOf(ProvisioningStoreUnavailableError);
    mock.restore();
  });
});

interface ObjectsRig {
  readonly objects: ProvisionedObjects;
  close(): Promise<void>;
}

function describeProvisionedObjectsContract(name: string, open: () => Promise<ObjectsRig>) {
  describe(`${name}: the ids provisioning recorded`, () => {
    const rigs: ObjectsRig[] = [];
    afterEach(async () => {
      await Promise.all(rigs.splice(0).map((rig) => rig.close()));
    });
    const objectsOf = async () => {
      const rig = await open();
      rigs.push(rig);
      return rig.objects;
    };
    const object = (
      kind: AirbyteObjectKind,
      name: string,
      id: string,
      secretsHash?: string,
    ): ProvisionedObject => ({
      kind,
      name,
      id,
      ...(secretsHash ? { secretsHash } : {}),
      updatedAt: iso(0),
    });

    it("answers what was put, by kind and name, and nothing for what was not", async () => {
      const objects = await objectsOf();
      const zoom = object(
        "source",
        "zoom",
        "5b1c5f0e-0000-4000-8000-000000000001",
        `sha256:${"a".repeat(64)}`,
      );
      await objects.put(zoom);
      expect(await objects.get("source", "zoom")).toEqual(zoom);
      expect(await objects.get("connection", "zoom")).toBeUndefined();
      expect(await objects.get("source", "salesforce")).toBeUndefined();
    });

    it("replaces an object's id and hash, and lists every object (a workspace's free-text name included)", async () => {
      const objects = await objectsOf();
      await objects.put(object("source", "zoom", "old-id", `sha256:${"a".repeat(64)}`));
      await objects.put(object("source", "zoom", "new-id"));
      await objects.put(object("workspace", "Rain Shield / EU", "ws-id"));
      await objects.put(object("connection", "zoom-webinar-registrants", "conn-id"));
      expect(await objects.get("source", "zoom")).toEqual(object("source", "zoom", "new-id"));
      expect(await objects.list()).toEqual([
        object("connection", "zoom-webinar-registrants", "conn-id"),
        object("source", "zoom", "new-id"),
        object("workspace", "Rain Shield / EU", "ws-id"),
      ]);
    });
  });
}

describeProvisionedObjectsContract("SqliteProvisioningStore", async () => {
  const store = SqliteProvisioningStore.open(":memory:");
  return { objects: store, close: async () => store.close() };
});

/** An SSM client whose parameters live in a Map: what PutParameter wrote, GetParameter(s) read. */
function inMemorySsm() {
  const client = new SSMClient({ region: "us-east-1" });
  const mock = mockClient(client);
  const parameters = new Map<string, string>();
  mock.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; Overwrite?: boolean }) => {
    parameters.set(input.Name, input.Value);
    return { Version: 1 };
  });
  mock.on(GetParameterCommand).callsFake((input: { Name: string }) => {
    const value = parameters.get(input.Name);
    if (value === undefined) throw new ParameterNotFound({ message: input.Name, $metadata: {} });
    return { Parameter: { Name: input.Name, Value: value, Type: "String" } };
  });
  // two per page, so the adapter must follow NextToken
  mock.on(GetParametersByPathCommand).callsFake((input: { Path: string; NextToken?: string }) => {
    const names = [...parameters.keys()].filter((name) => name.startsWith(input.Path)).sort();
    const start = Number(input.NextToken ?? 0);
    const page = names.slice(start, start + 2);
    return {
      Parameters: page.map((Name) => ({ Name, Value: parameters.get(Name) })),
      ...(start + 2 < names.length ? { NextToken: String(start + 2) } : {}),
    };
  });
  return { client, mock, parameters };
}

describeProvisionedObjectsContract("SsmProvisionedObjects (aws-sdk-client-mock)", async () => {
  const ssm = inMemorySsm();
  return {
    objects: new SsmProvisionedObjects({ client: ssm.client, stage: "prod" }),
    close: async () => ssm.mock.restore(),
  };
});

describe("SsmProvisionedObjects", () => {
  it("writes String parameters (an id and a hash are no secret) under /tapestry/<stage>/provisioning/airbyte/", async () => {
    const ssm = inMemorySsm();
    const objects = new SsmProvisionedObjects({ client: ssm.client, stage: "prod" });
    await objects.put({ kind: "connection", name: "salesforce-contacts", id: "c-1", updatedAt: iso(0) });
    const [put] = ssm.mock.commandCalls(PutParameterCommand);
    expect(put?.args[0].input).toMatchObject({
      Name: "/tapestry/prod/provisioning/airbyte/connection/salesforce-contacts",
      Type: "String",
      Overwrite: true,
    });
    expect(JSON.parse(String(put?.args[0].input.Value))).toEqual({ id: "c-1", updatedAt: iso(0) });
    // a free-text name is kept within SSM's name rules, and read back as it was
    expect(provisionedObjectParameterName("prod", "workspace", "Rain Shield / EU")).toMatch(
      /^\/tapestry\/prod\/provisioning\/airbyte\/workspace\/[A-Za-z0-9_.-]+$/,
    );
    ssm.mock.restore();
  });

  it("resolves a step's connection name to its id, and names the fix when provisioning recorded none", async () => {
    const ssm = inMemorySsm();
    const objects = new SsmProvisionedObjects({ client: ssm.client, stage: "prod" });
    await objects.put({ kind: "connection", name: "zoom-webinar-registrants", id: "c-9", updatedAt: iso(0) });
    const resolve = ssmConnectionIds(objects);
    expect(await resolve("zoom-webinar-registrants")).toBe("c-9");
    await expect(resolve("salesforce-contacts")).rejects.toBeInstanceOf(ConnectionNotProvisionedError);
    ssm.mock.restore();
  });

  it("names SSM's throttling ProvisioningStoreUnavailableError, which the state machine retries", async () => {
    const client = new SSMClient({ region: "us-east-1" });
    const mock = mockClient(client);
    mock
      .on(GetParameterCommand)
      .rejects(
        new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", $metadata: {} }),
      );
    const objects = new SsmProvisionedObjects({ client, stage: "prod" });
    await expect(objects.get("source", "zoom")).rejects.toBeInstanceOf(ProvisioningStoreUnavailableError);
    mock.restore();
  });
});
