import { newRunRecord, provisioningRunId } from "@tapestry/core/provisioning";
import { warehousePlan } from "@tapestry/core/provisioning/warehouse";
import { describe, expect, it } from "vitest";
import { provisionRigStarter } from "./provision-harness";

const start = provisionRigStarter();

const summary = (events: readonly { "detail-type": string; detail: { data: Record<string, unknown> } }[]) =>
  events.map((e) => {
    const d = e.detail.data;
    switch (e["detail-type"]) {
      case "ToolConfigured":
        return `ToolConfigured ${d.tool} ${d.kind} ${d.name} ${d.action}`;
      case "WarehouseBootstrapped":
        return `WarehouseBootstrapped applied=${d.applied} skipped=${d.skipped}`;
      case "ProvisioningFailed":
        return `ProvisioningFailed ${d.step}`;
      default:
        return e["detail-type"];
    }
  });

describe("provision.asl.json on aws-local-stepfunctions", () => {
  it("succeeds: the warehouse bootstrapped, the Airbyte objects created, Grouparoo's files written, in that order", async () => {
    const rig = await start();
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    const plan = warehousePlan(rig.config.warehouse ?? (undefined as never));
    expect(summary(run.events)).toEqual([
      "ProvisioningStarted",
      `WarehouseBootstrapped applied=${plan.length} skipped=0`,
      "ToolConfigured airbyte workspace rain-shield created",
      "ToolConfigured airbyte destination tapestry-warehouse created",
      "ToolConfigured airbyte source zoom created",
      "ToolConfigured airbyte source salesforce created",
      "ToolConfigured airbyte connection zoom-webinar-registrants created",
      "ToolConfigured airbyte connection salesforce-contacts created",
      "ToolConfigured grouparoo file config/models/people.json created",
      "ToolConfigured grouparoo file config/apps/tapestry_warehouse.json created",
      "ToolConfigured grouparoo file config/apps/mailchimp_audience_app.json created",
      "ToolConfigured grouparoo file config/sources/email_model.json created",
      "ToolConfigured grouparoo file config/properties/email.json created",
      "ToolConfigured grouparoo file config/properties/first_name.json created",
      "ToolConfigured grouparoo file config/properties/last_name.json created",
      "ToolConfigured grouparoo file config/properties/company.json created",
      "ToolConfigured grouparoo file config/schedules/sch_mailchimp_audience.json created",
      "ToolConfigured grouparoo file config/destinations/mailchimp_audience.json created",
      "ToolConfigured grouparoo file environment.json created",
      "ProvisioningSucceeded",
    ]);
    // both tools are external here: no stack is deployed
    expect(run.states).toEqual(expect.arrayContaining(["AirbyteExternal", "GrouparooSelfHosted"]));
    expect(run.states).not.toContain("DeployAirbyteStack");
    expect(run.states).not.toContain("DeployGrouparooStack");
    const last = await rig.store.last();
    expect(last).toMatchObject({ runId: run.runId, status: "succeeded" });
    expect(last?.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      "validate:succeeded",
      "bootstrap-warehouse:succeeded",
      "deploy-tool-stacks:skipped",
      "ensure-airbyte:succeeded",
      "write-grouparoo-config:succeeded",
      "record-outputs:succeeded",
    ]);
    // the destination got the key pair the bootstrap generated for the loader user
    const [destination] = [...rig.airbyte.configuration.destinations.values()];
    if (!destination) throw new Error("no destination was created");
    expect(String((destination.configuration.credentials as { private_key?: string }).private_key)).toMatch(
      /-----BEGIN PRIVATE KEY-----/,
    );
  });

  it("a second run changes nothing: every statement skipped, 0 writes to Airbyte, every object unchanged", async () => {
    const rig = await start();
    await rig.provision();
    const writes = () =>
      rig.airbyte.traffic.filter((ex) => ex.request.method !== "GET" && ex.operation !== "createAccessToken")
        .length;
    const before = writes();
    const again = await rig.provision();
    expect(again.status).toBe("SUCCEEDED");
    expect(writes()).toBe(before);
    expect(summary(again.events).find((line) => line.startsWith("WarehouseBootstrapped"))).toMatch(
      /applied=0 skipped=\d+/,
    );
    expect(
      summary(again.events).filter(
        (line) => line.startsWith("ToolConfigured") && !line.endsWith(" unchanged"),
      ),
    ).toEqual([]);
    expect(again.events.at(-1)?.detail.data).toMatchObject({
      objects: { created: 0, updated: 0, unchanged: 17, deleted: 0 },
    });
  });

  it("a bootstrap failure at statement k gives ProvisioningFailed naming it, and nothing after runs; a re-run resumes at k and succeeds", async () => {
    const rig = await start();
    const plan = warehousePlan(rig.config.warehouse ?? (undefined as never));
    const k = plan.findIndex((s) => s.version === "1.16") + 1;
    rig.snowflake.script({
      on: plan[k - 1]?.sql ?? "",
      times: 1,
      error: {
        code: "003001",
        message: "Insufficient privileges to operate on database 'TAPESTRY_RAW'.",
        sqlState: "42501",
      },
    });
    const failed = await rig.provision();
    expect(failed.status).toBe("FAILED");
    expect(summary(failed.events)).toEqual(["ProvisioningStarted", "ProvisioningFailed bootstrap-warehouse"]);
    expect(failed.events.at(-1)?.detail.data).toMatchObject({
      step: "bootstrap-warehouse",
      errorName: "WarehouseBootstrapError",
      statement: {
        number: k,
        version: "1.16",
        summary: "hand database TAPESTRY_RAW to role TAPESTRY_LOADER",
      },
      error: expect.stringContaining(`stopped at statement ${k} of ${plan.length}`),
    });
    // nothing after the failed step ran
    expect(failed.states).not.toContain("EnsureAirbyteObjects");
    expect(rig.airbyte.traffic).toEqual([]);
    expect((await rig.store.last())?.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      "validate:succeeded",
      "bootstrap-warehouse:failed",
      "deploy-tool-stacks:skipped",
      "ensure-airbyte:pending",
      "write-grouparoo-config:pending",
      "record-outputs:pending",
    ]);

    const resumed = await rig.provision();
    expect(resumed.status).toBe("SUCCEEDED");
    expect(summary(resumed.events)[1]).toBe(
      `WarehouseBootstrapped applied=${plan.length - k + 1} skipped=${k - 1}`,
    );
    expect(summary(resumed.events).at(-1)).toBe("ProvisioningSucceeded");
  });

  it("Airbyte answering 5xx is retried: the Task retries the step, which looks before it writes", async () => {
    const rig = await start({
      airbyte: { rules: [{ on: "createSource", calls: [1, 2], respond: { status: 503 } }] },
    });
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    expect(
      rig.airbyte.traffic.filter((ex) => ex.operation === "createSource").map((ex) => ex.response?.status),
    ).toEqual([503, 503, 200, 200]);
    expect(rig.airbyte.configuration.sources.size).toBe(2);
    // what the first attempts did was found done: each object counts once, as created
    expect(run.events.at(-1)?.detail.data).toMatchObject({
      objects: { created: 17, updated: 0, unchanged: 0 },
    });
  });

  it("a failure in Airbyte that a retry cannot cure names the step and the reason, and nothing after it runs", async () => {
    const rig = await start({
      airbyte: { rules: [{ on: "createConnection", from: 1, times: 99, respond: { status: 400 } }] },
    });
    const failed = await rig.provision();
    expect(failed.status).toBe("FAILED");
    expect(failed.events.at(-1)?.detail.data).toMatchObject({
      step: "ensure-airbyte",
      errorName: "ToolRequestError",
      error: expect.stringContaining("create connection"),
    });
    expect(summary(failed.events).filter((line) => line.startsWith("ToolConfigured grouparoo"))).toEqual([]);
  });
});

describe("a run whose execution ended without its outcome", () => {
  const stale = (startedAt: Date) =>
    newRunRecord(provisioningRunId(startedAt), "api", startedAt.toISOString(), [
      "validate",
      "record-outputs",
    ]);

  it("is recorded failed (ProvisioningAborted) and its lock freed by the next run, which then runs", async () => {
    const rig = await start();
    // a run that took the lock two minutes ago and whose execution is gone (stopped by hand)
    const abandoned = stale(new Date(Date.now() - 120_000));
    await rig.store.begin(abandoned, new Date(Date.now() + 3_600_000).toISOString());

    const run = await rig.provision();

    expect(run.status).toBe("SUCCEEDED");
    expect(await rig.store.getRun(abandoned.runId)).toMatchObject({
      status: "failed",
      failure: { step: "validate", errorName: "ProvisioningAborted" },
    });
  });

  it("is left alone while young: a run just claimed may not have started its execution yet", async () => {
    const rig = await start();
    const young = stale(new Date(Date.now() - 5_000));
    await rig.store.begin(young, new Date(Date.now() + 3_600_000).toISOString());

    await expect(rig.provision()).rejects.toMatchObject({
      name: "ProvisioningBusyError",
      activeRunId: young.runId,
    });
    expect(await rig.store.getRun(young.runId)).toMatchObject({ status: "running" });
  });
});
