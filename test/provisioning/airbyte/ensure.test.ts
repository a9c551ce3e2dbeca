import { ToolObjectConflictError } from "@tapestry/core/provisioning";
import { MASKED_SECRET } from "@tapestry/local/sandboxes";
import { describe, expect, it } from "vitest";
import { assertTrafficConforms } from "../../contract/openapi-contract";
import { airbyteRigStarter } from "./harness";

const start = airbyteRigStarter();

const actions = (objects: readonly { kind: string; name: string; action: string }[]) =>
  objects.map((o) => `${o.kind} ${o.name} ${o.action}`);

describe("Airbyte objects ensured by name, over HTTP against the sandbox", () => {
  it("first run creates the workspace, 1 destination, 2 sources and 2 connections, each request as the spec says", async () => {
    const rig = await start();
    const ensured = await rig.ensure();
    expect(actions(ensured)).toEqual([
      "workspace rain-shield created",
      "destination tapestry-warehouse created",
      "source zoom created",
      "source salesforce created",
      "connection zoom-webinar-registrants created",
      "connection salesforce-contacts created",
    ]);
    expect(rig.writes().sort()).toEqual([
      "createConnection",
      "createConnection",
      "createDestination",
      "createSource",
      "createSource",
      "createWorkspace",
    ]);
    const { configuration } = rig.sandbox;
    expect(configuration.destinations.size).toBe(1);
    expect(configuration.sources.size).toBe(2);
    expect(configuration.connections.size).toBe(2);
    // the destination is the warehouse's: the loader user with its key pair, the raw database
    const [destination] = [...configuration.destinations.values()];
    expect(destination?.configuration).toMatchObject({
      destinationType: "snowflake",
      host: "rainshield-analytics.snowflakecomputing.com",
      username: "TAPESTRY_AIRBYTE",
      role: "TAPESTRY_LOADER",
      database: "TAPESTRY_RAW",
      credentials: {
        auth_type: "Key Pair Authentication",
        private_key: rig.secrets.TAPESTRY_AIRBYTE_PRIVATE_KEY,
      },
    });
    const zoom = [...configuration.connections.values()].find((c) => c.name === "zoom-webinar-registrants");
    expect(zoom).toMatchObject({
      schedule: { scheduleType: "manual" },
      namespaceDefinition: "custom_format",
      namespaceFormat: "zoom",
      configurations: { streams: [{ name: "webinar_registrants", syncMode: "full_refresh_overwrite" }] },
    });
    // the ids are recorded, each with its secrets' hash
    expect(
      (await rig.store.list()).map((o) => `${o.kind}:${o.name}:${o.secretsHash ? "hash" : "-"}`),
    ).toEqual([
      "connection:salesforce-contacts:-",
      "connection:zoom-webinar-registrants:-",
      "destination:tapestry-warehouse:hash",
      "source:salesforce:hash",
      "source:zoom:hash",
      "workspace:rain-shield:-",
    ]);
    expect(() => assertTrafficConforms(rig.sandbox.traffic)).not.toThrow();
  });

  it("second run changes nothing: 0 writes, every object unchanged", async () => {
    const rig = await start();
    await rig.ensure();
    rig.writes();
    const again = await rig.ensure();
    expect(rig.writes()).toEqual([]);
    expect(again.every((o) => o.action === "unchanged")).toBe(true);
    expect(again.map((o) => o.id)).toEqual((await rig.ensure()).map((o) => o.id));
  });

  it("a changed setting updates only that object, naming the setting", async () => {
    const rig = await start();
    await rig.ensure();
    rig.writes();
    const changed = structuredClone(rig.config);
    const zoom = changed.airbyte?.sources.find((s) => s.name === "zoom");
    if (!zoom) throw new Error("no zoom source");
    zoom.settings.account_id = "NeWaCcOuNt";
    const ensured = await rig.ensure(changed);
    expect(rig.writes()).toEqual(["patchSource"]);
    expect(ensured.filter((o) => o.action !== "unchanged")).toEqual([
      expect.objectContaining({ kind: "source", name: "zoom", action: "updated", changes: ["account_id"] }),
    ]);
    const live = [...rig.sandbox.configuration.sources.values()].find((s) => s.name === "zoom");
    expect(live?.configuration.account_id).toBe("NeWaCcOuNt");
    expect(() => assertTrafficConforms(rig.sandbox.traffic)).not.toThrow();
  });

  it("a changed secret updates only its object, known by the recorded hash (Airbyte never answers it)", async () => {
    const rig = await start();
    await rig.ensure();
    rig.writes();
    const answered = [...rig.sandbox.configuration.sources.values()].find((s) => s.name === "salesforce");
    expect(answered).toBeDefined();
    rig.secrets.SALESFORCE_REFRESH_TOKEN = "5Aep861rotatedTokenValue0123456789";
    const ensured = await rig.ensure();
    expect(rig.writes()).toEqual(["patchSource"]);
    expect(ensured.find((o) => o.name === "salesforce")).toMatchObject({
      action: "updated",
      changes: ["secrets"],
    });
    expect(answered?.configuration.refresh_token).toBe("5Aep861rotatedTokenValue0123456789");
    // what Airbyte answers holds the mask, never the value
    const listed = rig.sandbox.traffic.filter((ex) => ex.operation === "listSources").at(-1);
    expect(JSON.stringify(listed?.response?.body)).toContain(MASKED_SECRET);
    expect(JSON.stringify(listed?.response?.body)).not.toContain("rotatedTokenValue");
  });

  it("a changed connection (streams, schedule) is patched; one moved to another source is refused, naming its id", async () => {
    const rig = await start();
    await rig.ensure();
    rig.writes();
    const changed = structuredClone(rig.config);
    const connection = changed.airbyte?.connections[0];
    if (!connection) throw new Error("no connection");
    connection.streams = [...connection.streams, { name: "webinars", syncMode: "full_refresh_overwrite" }];
    const ensured = await rig.ensure(changed);
    expect(rig.writes()).toEqual(["patchConnection"]);
    expect(ensured.find((o) => o.kind === "connection" && o.action === "updated")?.changes).toEqual([
      "streams",
    ]);
    expect(() => assertTrafficConforms(rig.sandbox.traffic)).not.toThrow();

    connection.source = "salesforce";
    const id = ensured.find((o) => o.name === connection.name)?.id ?? "";
    const refused = rig.ensure(changed);
    await expect(refused).rejects.toBeInstanceOf(ToolObjectConflictError);
    await expect(refused).rejects.toThrow(
      new RegExp(`connection "zoom-webinar-registrants" \\(${id}\\).*cannot move a connection`),
    );
  });

  it("a name two objects share stops the run, naming both ids, and changes nothing", async () => {
    const rig = await start();
    await rig.ensure();
    const [first] = [...rig.sandbox.configuration.sources.values()].filter((s) => s.name === "zoom");
    if (!first) throw new Error("no zoom source");
    const second = { ...structuredClone(first), id: "d2d6c1a4-9b7e-4f35-8e1a-6f0b2c3d4e5f" };
    rig.sandbox.configuration.sources.set(second.id, second);
    rig.writes();
    const refused = rig.ensure();
    await expect(refused).rejects.toThrow(
      new RegExp(`2 Airbyte sources are named "zoom" \\(${first.id}, ${second.id}\\)`),
    );
    await expect(refused).rejects.toMatchObject({
      name: "ToolObjectConflictError",
      ids: [first.id, second.id],
    });
    expect(rig.writes()).toEqual([]);
  });

  it("an object of that name but another type is refused, not overwritten", async () => {
    const rig = await start();
    await rig.ensure();
    const zoom = [...rig.sandbox.configuration.sources.values()].find((s) => s.name === "zoom");
    if (!zoom) throw new Error("no zoom source");
    zoom.type = "salesforce";
    await expect(rig.ensure()).rejects.toThrow(
      /source named "zoom" .* is a salesforce source, but the config declares a zoom source/,
    );
  });
});

describe("Airbyte failing on the way", () => {
  it("a 5xx on a read is retried by the client", async () => {
    const rig = await start({
      scenario: { rules: [{ on: "listSources", calls: [1], respond: { status: 503 } }] },
    });
    const ensured = await rig.ensure();
    expect(ensured).toHaveLength(6);
    const lists = rig.sandbox.traffic.filter((ex) => ex.operation === "listSources");
    expect(lists.map((ex) => ex.response?.status).slice(0, 2)).toEqual([503, 200]);
  });

  it("a create answered 502 after Airbyte made it is found and used, never made twice", async () => {
    const rig = await start({
      scenario: { rules: [{ on: "createSource", calls: [1], process: true, respond: { status: 502 } }] },
    });
    const ensured = await rig.ensure();
    expect(ensured.find((o) => o.name === "zoom")?.action).toBe("created");
    expect([...rig.sandbox.configuration.sources.values()].filter((s) => s.name === "zoom")).toHaveLength(1);
  });

  it("a create refused before it happened fails the step; the next run resumes and creates each object once", async () => {
    const rig = await start({
      scenario: { rules: [{ on: "createConnection", calls: [2], respond: { status: 503 } }] },
    });
    await expect(rig.ensure()).rejects.toMatchObject({ name: "ToolUnavailableError" });
    const again = await rig.ensure();
    expect(actions(again).filter((a) => !a.endsWith("unchanged"))).toEqual([
      "connection salesforce-contacts created",
    ]);
    expect(rig.sandbox.configuration.connections.size).toBe(2);
    expect(rig.sandbox.configuration.sources.size).toBe(2);
  });
});
