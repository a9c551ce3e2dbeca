/**
 * provision.asl.json and deprovision.asl.json on aws-local-stepfunctions (the embedded runner),
 * both tools self-hosted, their stacks deployed by the real CloudFormation adapter on a mocked
 * client over a model of a stack's lifecycle (cloudformation-model.ts); the tools' health routes
 * are their sandboxes', over HTTP on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "vitest";
import { provisionRigStarter, type RigOptions, type RigRun } from "../provision-harness";
import { CloudFormationModel, TEMPLATES } from "./cloudformation-model";

const start = provisionRigStarter();
const models: CloudFormationModel[] = [];
afterEach(() => {
  for (const model of models.splice(0)) model.restore();
});

async function selfHosted(options: Omit<RigOptions, "selfHosted"> = {}) {
  const model = new CloudFormationModel();
  models.push(model);
  const rig = await start({ ...options, selfHosted: { cfn: model.adapter(), templates: TEMPLATES } });
  return { rig, model };
}

/** The stack events of a run, one line each. */
const stackLines = (run: RigRun) =>
  run.events.flatMap((e) => {
    const d = e.detail.data as Record<string, unknown>;
    switch (e["detail-type"]) {
      case "StackDeployStarted":
        return [`StackDeployStarted ${d.tool} ${d.action}`];
      case "StackDeployed":
        return [
          `StackDeployed ${d.tool} created=${d.resourcesCreated} updated=${d.resourcesUpdated} noChanges=${d.noChanges}`,
        ];
      case "StackDeployFailed":
        return [`StackDeployFailed ${d.tool} ${d.status}`];
      case "StackDeleted":
        return [`StackDeleted ${d.tool}`];
      case "ProvisioningFailed":
      case "DeprovisioningFailed":
        return [`${e["detail-type"]} ${d.step}`];
      case "ProvisioningStarted":
      case "ProvisioningSucceeded":
      case "DeprovisioningStarted":
      case "DeprovisioningSucceeded":
        return [e["detail-type"]];
      default:
        return [];
    }
  });

/** A clock that moves `minutes` on every read: deadlines pass in a few loops. */
function racingClock(minutes: number): () => Date {
  let at = Date.now();
  return () => {
    at += minutes * 60_000;
    return new Date(at);
  };
}

describe("Airbyte's API credentials, read through SSM as on AWS (aws-sdk-client-mock)", () => {
  it("are read from the two SecureStrings tools.airbyte.auth names, decrypted, once the stack is healthy", async () => {
    const model = new CloudFormationModel();
    models.push(model);
    const rig = await start({
      selfHosted: { cfn: model.adapter(), templates: TEMPLATES },
      ssm: { stage: "prod" },
    });
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    expect(rig.ssmReads).toContain("/tapestry/prod/AIRBYTE_CLIENT_ID");
    expect(rig.ssmReads).toContain("/tapestry/prod/AIRBYTE_CLIENT_SECRET");
  });

  it("not written by the host: the read is retried, then the run fails naming the secret; nothing of Airbyte's is configured", async () => {
    const model = new CloudFormationModel();
    models.push(model);
    const rig = await start({
      selfHosted: { cfn: model.adapter(), templates: TEMPLATES },
      ssm: { stage: "prod", missing: ["AIRBYTE_CLIENT_SECRET"] },
    });
    const run = await rig.provision();
    expect(run.status).toBe("FAILED");
    const failed = run.events.find((e) => e["detail-type"] === "ProvisioningFailed");
    expect(JSON.stringify(failed?.detail.data)).toContain("AIRBYTE_CLIENT_SECRET");
    // retried: the parameter was asked for more than once before the run gave up
    expect(rig.ssmReads.filter((p) => p === "/tapestry/prod/AIRBYTE_CLIENT_SECRET").length).toBeGreaterThan(
      1,
    );
    expect(
      run.events.some((e) => e["detail-type"] === "ToolConfigured" && e.detail.data.tool === "airbyte"),
    ).toBe(false);
  });
});

describe("provision.asl.json with both tools self-hosted", () => {
  it("a fresh create: Airbyte's stack deployed and healthy before its objects, Grouparoo's after its files; outputs recorded for GET /stacks", async () => {
    const { rig, model } = await selfHosted();
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    expect(stackLines(run)).toEqual([
      "ProvisioningStarted",
      "StackDeployStarted airbyte create",
      "StackDeployed airbyte created=12 updated=0 noChanges=false",
      "StackDeployStarted grouparoo create",
      "StackDeployed grouparoo created=12 updated=0 noChanges=false",
      "ProvisioningSucceeded",
    ]);
    const types = run.events.map((e) => e["detail-type"]);
    // Airbyte's objects only once its stack answered healthy; Grouparoo's stack after its files
    expect(types.indexOf("ToolConfigured")).toBeGreaterThan(types.indexOf("StackDeployed"));
    const grouparooStarted = run.events.findIndex(
      (e) => e["detail-type"] === "StackDeployStarted" && e.detail.data.tool === "grouparoo",
    );
    expect(types.lastIndexOf("ToolConfigured")).toBeLessThan(grouparooStarted);
    expect(run.states).toEqual(
      expect.arrayContaining(["CheckAirbyteHealth", "ReadAirbyteCredentials", "CheckGrouparooHealth"]),
    );
    expect(model.calls).toEqual(["create tapestry-test-airbyte", "create tapestry-test-grouparoo"]);
    // the health routes were asked over HTTP
    expect(rig.airbyte.traffic.some((ex) => ex.operation === "health")).toBe(true);
    expect(rig.grouparoo?.traffic.some((ex) => ex.operation === "statusPublic")).toBe(true);

    const { stacks } = await rig.stacks();
    expect(stacks).toEqual([
      expect.objectContaining({
        tool: "airbyte",
        stackName: "tapestry-test-airbyte",
        status: "CREATE_COMPLETE",
        httpOnly: false,
        outputs: expect.objectContaining({ BucketName: "tapestry-test-airbyte-bucket-1a2b3c" }),
        lastDeploy: expect.objectContaining({ runId: run.runId, outcome: "deployed" }),
      }),
      expect.objectContaining({ tool: "grouparoo", status: "CREATE_COMPLETE" }),
    ]);
    expect((await rig.store.last())?.steps.find((s) => s.name === "deploy-tool-stacks")?.status).toBe(
      "succeeded",
    );
  });

  it("a re-run on an unchanged config changes nothing: both updates answer no changes, every object unchanged", async () => {
    const { rig, model } = await selfHosted();
    await rig.provision();
    const again = await rig.provision();
    expect(again.status).toBe("SUCCEEDED");
    expect(stackLines(again)).toEqual([
      "ProvisioningStarted",
      "StackDeployStarted airbyte update",
      "StackDeployed airbyte created=0 updated=0 noChanges=true",
      "StackDeployStarted grouparoo update",
      "StackDeployed grouparoo created=0 updated=0 noChanges=true",
      "ProvisioningSucceeded",
    ]);
    expect(model.calls.slice(2)).toEqual(["update tapestry-test-airbyte", "update tapestry-test-grouparoo"]);
    expect(again.events.at(-1)?.detail.data).toMatchObject({ objects: { created: 0, updated: 0 } });
  });

  it("an update with changes counts the resources it updated", async () => {
    const { rig, model } = await selfHosted();
    await rig.provision();
    model.next.update.grouparoo = { kind: "ok", resources: 3 };
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    expect(stackLines(run), JSON.stringify(stackLines(run))).toContain(
      "StackDeployed grouparoo created=0 updated=3 noChanges=false",
    );
    expect(model.stacks.get("tapestry-test-grouparoo")?.status).toBe("UPDATE_COMPLETE");
  });

  it("a stack left in ROLLBACK_COMPLETE is deleted and created again (recreate)", async () => {
    const { rig, model } = await selfHosted();
    model.seed("airbyte", "ROLLBACK_COMPLETE");
    const run = await rig.provision();
    expect(run.status).toBe("SUCCEEDED");
    expect(stackLines(run).slice(0, 3)).toEqual([
      "ProvisioningStarted",
      "StackDeployStarted airbyte recreate",
      "StackDeployed airbyte created=12 updated=0 noChanges=false",
    ]);
    expect(model.calls.slice(0, 2)).toEqual(["delete tapestry-test-airbyte", "create tapestry-test-airbyte"]);
  });

  it("a failed resource is named in StackDeployFailed and ProvisioningFailed; nothing after the step runs; GET /stacks shows the reason", async () => {
    const { rig, model } = await selfHosted();
    const reason =
      "The requested configuration is currently not supported. Please check the documentation for supported configurations. (Service: Ec2, Status Code: 400)";
    model.next.create.airbyte = {
      kind: "fail",
      logicalId: "AirbyteHost",
      resourceType: "AWS::EC2::Instance",
      reason,
    };
    const run = await rig.provision();
    expect(run.status).toBe("FAILED");
    expect(stackLines(run)).toEqual([
      "ProvisioningStarted",
      "StackDeployStarted airbyte create",
      "StackDeployFailed airbyte ROLLBACK_COMPLETE",
      "ProvisioningFailed deploy-tool-stacks",
    ]);
    const failed = run.events.find((e) => e["detail-type"] === "StackDeployFailed")?.detail.data;
    // the first resource that failed, not the cancelled one after it
    expect(failed).toMatchObject({ resource: "AirbyteHost (AWS::EC2::Instance) CREATE_FAILED", reason });
    expect(run.events.at(-1)?.detail.data).toMatchObject({
      step: "deploy-tool-stacks",
      errorName: "ToolStackDeployFailedError",
      error: expect.stringContaining("AirbyteHost (AWS::EC2::Instance) CREATE_FAILED"),
    });
    expect(run.states).not.toContain("EnsureAirbyteObjects");
    expect(run.states).not.toContain("DeployGrouparooStack");
    const { stacks } = await rig.stacks();
    expect(stacks[0]).toMatchObject({
      tool: "airbyte",
      status: "ROLLBACK_COMPLETE",
      lastDeploy: { outcome: "failed", reason: expect.stringContaining(reason) },
    });
    // the next run recovers: the stack that never came up is deleted and created again
    const again = await rig.provision();
    expect(again.status).toBe("SUCCEEDED");
    expect(stackLines(again)[1]).toBe("StackDeployStarted airbyte recreate");
  });

  it("UPDATE_ROLLBACK_FAILED stops the run with what to do (ContinueUpdateRollback, then run again)", async () => {
    const { rig, model } = await selfHosted();
    model.seed("airbyte", "UPDATE_ROLLBACK_FAILED");
    const run = await rig.provision();
    expect(run.status).toBe("FAILED");
    expect(run.events.at(-1)?.detail.data).toMatchObject({
      step: "deploy-tool-stacks",
      errorName: "ToolStackStuckError",
      error: expect.stringContaining("continue-update-rollback"),
    });
    expect(model.calls).toEqual([]);
  });

  it("a deploy past its deadline fails naming the stack and its status; the stack is left to go on", async () => {
    const { rig, model } = await selfHosted({ now: racingClock(7) });
    model.next.create.airbyte = { kind: "hang" };
    const run = await rig.provision();
    expect(run.status).toBe("FAILED");
    expect(run.events.at(-1)?.detail.data).toMatchObject({
      step: "deploy-tool-stacks",
      errorName: "ToolStackDeadlineError",
      error: expect.stringMatching(/tapestry-test-airbyte was still CREATE_IN_PROGRESS after 60 minutes/),
    });
    expect(stackLines(run)).toContain("StackDeployFailed airbyte CREATE_IN_PROGRESS");
    expect(model.calls).toEqual(["create tapestry-test-airbyte"]);
  });

  it("an Airbyte that never answers healthy fails naming the URL and what to check", async () => {
    const { rig } = await selfHosted({
      now: racingClock(7),
      airbyte: { rules: [{ on: "health", from: 1, times: 10_000, respond: { status: 503 } }] },
    });
    const run = await rig.provision();
    expect(run.status).toBe("FAILED");
    expect(run.events.at(-1)?.detail.data).toMatchObject({
      step: "deploy-tool-stacks",
      errorName: "ToolNeverHealthyError",
      error: expect.stringContaining(`${rig.airbyte.baseUrl}/health`),
    });
    expect(String((run.events.at(-1)?.detail.data as { error?: string } | undefined)?.error)).toMatch(
      /HTTP 503.*allowedCidrs/,
    );
    expect(run.states).not.toContain("EnsureAirbyteObjects");
  });
});

describe("deprovision.asl.json", () => {
  it("deletes Grouparoo's stack, then Airbyte's, waiting on each, and reports what remains on purpose", async () => {
    const { rig, model } = await selfHosted();
    await rig.provision();
    const run = await rig.deprovision();
    expect(run.status).toBe("SUCCEEDED");
    expect(stackLines(run)).toEqual([
      "DeprovisioningStarted",
      "StackDeleted grouparoo",
      "StackDeleted airbyte",
      "DeprovisioningSucceeded",
    ]);
    expect(model.calls.slice(2)).toEqual(["delete tapestry-test-grouparoo", "delete tapestry-test-airbyte"]);
    expect(model.stacks.size).toBe(0);
    const started = run.events[0]?.detail.data;
    expect(started).toMatchObject({
      stacks: ["tapestry-test-grouparoo", "tapestry-test-airbyte"],
      purge: false,
    });
    type Remains = { kind: string; name: string; remove?: string }[];
    const remains = (run.events.at(-1)?.detail.data as { remains?: Remains } | undefined)?.remains ?? [];
    expect(remains.map((r) => r.kind)).toEqual(
      expect.arrayContaining(["bucket", "snapshot", "parameter", "snowflake"]),
    );
    expect(remains.find((r) => r.kind === "bucket")?.name).toBe("tapestry-test-airbyte-bucket-1a2b3c");
    expect(remains.find((r) => r.kind === "snowflake")?.remove).toMatch(
      /DROP DATABASE IF EXISTS TAPESTRY_RAW;/,
    );
    const { stacks } = await rig.stacks();
    expect(stacks.map((s) => `${s.tool}:${s.status}:${s.lastDeploy?.outcome}`)).toEqual([
      "airbyte:null:deleted",
      "grouparoo:null:deleted",
    ]);
    // GET /provisioning answers the deprovisioning run as the last one
    expect(await rig.store.last()).toMatchObject({
      runId: run.runId,
      kind: "deprovision",
      status: "succeeded",
    });
  });

  it("a second teardown finds nothing to delete and succeeds", async () => {
    const { rig, model } = await selfHosted();
    await rig.provision();
    await rig.deprovision();
    const again = await rig.deprovision();
    expect(again.status).toBe("SUCCEEDED");
    expect(model.calls.filter((c) => c.startsWith("delete"))).toHaveLength(2);
  });
});
