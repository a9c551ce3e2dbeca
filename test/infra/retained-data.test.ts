import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { deploymentFor } from "../../stacks/deployment";
import kickstart from "../../tapestry.config";
import { runAwsSolutionsChecks } from "./nag";
import { type SynthesizedApp, synthesize, TEST_ACCOUNT, TEST_REGION } from "./synth";
import { functionsOf, iamStatementsOf, propertyOf, resolveJoin, resourcesOf } from "./template-queries";

/**
 * What a prod-like stage keeps when its stacks go away, and how a redeploy finds it again. The
 * stage "live" belongs to this file alone (see stacks.test.ts on bundles), synthesized twice, one
 * after the other: as first deployed, and redeployed onto the data it kept.
 */

const STAGE = "live";
const KEPT: TapestryConfig = parseConfig({
  ...structuredClone(kickstart),
  aws: { retainDataOnStages: [STAGE] },
});
const ADOPTED: TapestryConfig = parseConfig({
  ...structuredClone(kickstart),
  aws: { retainDataOnStages: [STAGE], adoptRetainedData: true },
});

const TABLE = "tapestry-live-ledger";
const BUS = "tapestry-live";
const QUEUES = [
  "tapestry-live-ProjectorDeadLetters",
  "tapestry-live-ReconcilerDeadLetters",
  "tapestry-live-ScheduleDeadLetters",
];
/** the Alerts stack's: the metrics recorder's, the alert evaluator's, the freshness check's */
const ALERT_QUEUES = [
  "tapestry-live-AlertEvaluatorDeadLetters",
  "tapestry-live-FreshnessDeadLetters",
  "tapestry-live-MetricsDeadLetters",
];
const arn = (service: string, resource: string) =>
  `arn:<partition>:${service}:${TEST_REGION}:${TEST_ACCOUNT}:${resource}`;

let kept: SynthesizedApp;
let adopted: SynthesizedApp;

beforeAll(async () => {
  kept = await synthesize(KEPT, STAGE);
  kept.templates(); // rendered now: the next synth of the same stage rewrites the bundles
  adopted = await synthesize(ADOPTED, STAGE);
  adopted.templates();
}, 180_000);

const everyResource = (app: SynthesizedApp) =>
  app
    .templates()
    .flatMap(({ stack, json }) =>
      Object.entries(json.Resources).map(([id, resource]) => ({ stack, id, resource })),
    );

describe("a stage that keeps its data (aws.retainDataOnStages)", () => {
  it("names the ledger table tapestry-<stage>-ledger and keeps it, with deletion protection", () => {
    kept.template("Ledger").hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({ TableName: TABLE, DeletionProtectionEnabled: true }),
    });
  });

  it("names the archive tapestry-<stage> and keeps it together with the bus it archives", () => {
    const events = kept.template("Events");
    events.hasResource("AWS::Events::Archive", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({ ArchiveName: BUS }),
    });
    // an archive fills through a rule EventBridge manages on its bus: the bus stays with it
    events.hasResource("AWS::Events::EventBus", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({ Name: BUS }),
    });
  });

  it("keeps every dead-letter queue, and the messages in it, under its name", () => {
    const queues = everyResource(kept).filter((r) => r.resource.Type === "AWS::SQS::Queue");
    expect(queues.map((q) => q.resource.Properties?.QueueName).sort()).toEqual(
      [...QUEUES, ...ALERT_QUEUES].sort(),
    );
    for (const queue of queues) {
      expect({ queue: queue.id, policy: queue.resource.DeletionPolicy }).toEqual({
        queue: queue.id,
        policy: "Retain",
      });
    }
  });
});

describe("redeploying onto kept data (aws.adoptRetainedData)", () => {
  it("creates no table, archive, bus or dead-letter queue: the stacks use the kept ones by name", () => {
    const types = new Set(everyResource(adopted).map((r) => r.resource.Type));
    for (const type of [
      "AWS::DynamoDB::Table",
      "AWS::Events::Archive",
      "AWS::Events::EventBus",
      "AWS::SQS::Queue",
    ]) {
      expect(types.has(type), type).toBe(false);
    }
    // and everything else is still there
    for (const type of ["AWS::Lambda::Function", "AWS::StepFunctions::StateMachine", "AWS::Events::Rule"]) {
      expect(types.has(type), type).toBe(true);
    }
  });

  it("points every function's variables at the kept table and bus", () => {
    const variables = adopted
      .templates()
      .flatMap(({ stack }) => functionsOf(adopted, stack))
      .map((fn) => propertyOf<{ Variables: Record<string, unknown> }>(fn.resource, "Environment").Variables);
    const tables = variables.flatMap((v) =>
      v.TAPESTRY_LEDGER_TABLE === undefined ? [] : [v.TAPESTRY_LEDGER_TABLE],
    );
    const buses = variables.flatMap((v) =>
      v.TAPESTRY_EVENT_BUS === undefined ? [] : [v.TAPESTRY_EVENT_BUS],
    );
    // the projector, the lock task, the reconciler, the status API, the alert evaluator, the freshness
    // check, WaitForWebhook's task, the webhook receiver, the six provision tasks, the deprovisioning run
    expect(tables).toEqual(Array(15).fill("tapestry-live-ledger"));
    // the six task functions, the reconciler, the status API, the alert evaluator, the freshness check,
    // the webhook receiver, the five provision tasks that publish (not the health check), the deprovisioning run
    expect(buses.length).toBe(17);
    expect(new Set(buses)).toEqual(new Set([BUS]));
  });

  it("grants exactly the same actions as on first deploy, on the kept table, its index and the kept bus", () => {
    const grants = (app: SynthesizedApp) =>
      iamStatementsOf(app)
        .filter((s) => s.actions.some((a) => /^(dynamodb|events):/.test(a)))
        .map((s) => `${s.policyOf.replace(/DefaultPolicy.*/, "")} ${s.actions.join(",")}`)
        .sort();
    expect(grants(adopted)).toEqual(grants(kept));
    const resources = new Set(
      iamStatementsOf(adopted)
        .filter((s) => s.actions.some((a) => /^(dynamodb|events):/.test(a)))
        .flatMap((s) => s.resources),
    );
    expect(resources).toEqual(
      new Set([
        arn("dynamodb", `table/${TABLE}`),
        arn("dynamodb", `table/${TABLE}/index/runsByPipeline`),
        arn("events", `event-bus/${BUS}`),
      ]),
    );
  });

  it("sends dead letters to the kept queues, each under a fresh TLS-only policy that lets the rules write", () => {
    const projectorQueue = arn("sqs", QUEUES[0] as string);
    const reconcilerQueue = arn("sqs", QUEUES[1] as string);
    const scheduleQueue = arn("sqs", QUEUES[2] as string);
    const resolve = (value: unknown) => resolveJoin(value, (ref) => `arn-of:${ref}`);
    const projector = resourcesOf(adopted, "Ledger", "AWS::Lambda::Function")[0]?.resource;
    expect(resolve(propertyOf<{ TargetArn: unknown }>(projector, "DeadLetterConfig").TargetArn)).toBe(
      projectorQueue,
    );
    const rule = resourcesOf(adopted, "Ledger", "AWS::Events::Rule")[0]?.resource;
    const [target] = propertyOf<{ DeadLetterConfig: { Arn: unknown } }[]>(rule, "Targets");
    expect(resolve(target?.DeadLetterConfig.Arn)).toBe(projectorQueue);
    for (const schedule of resourcesOf(adopted, "Pipelines", "AWS::Scheduler::Schedule")) {
      const target = propertyOf<{ DeadLetterConfig: { Arn: unknown } }>(schedule.resource, "Target");
      expect(resolve(target.DeadLetterConfig.Arn)).toBe(scheduleQueue);
    }

    const policies = adopted
      .templates()
      .flatMap(({ stack }) => resourcesOf(adopted, stack, "AWS::SQS::QueuePolicy"))
      .map(
        (p) =>
          p.resource.Properties as {
            Queues: unknown[];
            PolicyDocument: { Statement: PolicyStatementJson[] };
          },
      );
    expect(policies).toHaveLength(QUEUES.length + ALERT_QUEUES.length);
    for (const policy of policies) {
      expect(policy.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "sqs:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
    const fromRule = policies.flatMap((p) => p.PolicyDocument.Statement).filter((s) => s.Effect === "Allow");
    // the projector's rule on its queue; the reconciler's two rules (executions, late steps) on its own;
    // the metrics recorder's and the alert evaluator's rules, each on its own queue
    const fromEventBridge = expect.objectContaining({
      Action: "sqs:SendMessage",
      Principal: { Service: "events.amazonaws.com" },
      Condition: { ArnEquals: { "aws:SourceArn": expect.anything() } },
    });
    expect(fromRule).toEqual([
      fromEventBridge,
      fromEventBridge,
      fromEventBridge,
      fromEventBridge,
      fromEventBridge,
    ]);
    expect(fromRule.map((statement) => resolve(statement.Resource)).sort()).toEqual(
      [
        projectorQueue,
        reconcilerQueue,
        reconcilerQueue,
        arn("sqs", "tapestry-live-MetricsDeadLetters"),
        arn("sqs", "tapestry-live-AlertEvaluatorDeadLetters"),
      ].sort(),
    );
  });

  it("keeps the bus policy, on the kept bus", () => {
    // in the stack of the last function that publishes: the freshness check's (Alerts)
    const [policy] = resourcesOf(adopted, "Alerts", "AWS::Events::EventBusPolicy");
    expect(policy?.resource.Properties?.EventBusName).toBe(BUS);
  });

  it("outputs the same names a first deploy does", () => {
    const outputs = (app: SynthesizedApp) =>
      Object.fromEntries(
        app
          .templates()
          .flatMap(({ json }) =>
            Object.entries(json.Outputs ?? {}).filter(([name]) =>
              /LedgerTableName|EventBusName|EventArchiveName/.test(name),
            ),
          ),
      );
    expect(outputs(adopted)).toEqual({
      LedgerTableName: { Value: TABLE },
      EventBusName: { Value: BUS },
      EventArchiveName: { Value: BUS },
    });
    expect(outputs(kept)).toMatchObject({ EventArchiveName: { Value: BUS } });
  });

  it("passes cdk-nag AwsSolutions with no new suppression", () => {
    const findings = runAwsSolutionsChecks(adopted);
    expect(findings.unsuppressed).toEqual([]);
    expect(findings.ruleErrors).toEqual([]);
    expect(new Set(findings.suppressed.map((s) => s.ruleId))).toEqual(
      new Set(["AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-S1", "AwsSolutions-SF1"]),
    );
  });
});

describe("which stages adopt kept data", () => {
  it("adopts only on a stage that keeps its data: a dev stage has nothing to adopt and creates its own", () => {
    expect(deploymentFor(STAGE, ADOPTED)).toMatchObject({ retainData: true, adoptRetainedData: true });
    expect(deploymentFor("dev", ADOPTED)).toMatchObject({ retainData: false, adoptRetainedData: false });
    expect(deploymentFor(STAGE, KEPT)).toMatchObject({ retainData: true, adoptRetainedData: false });
  });

  it("names what a stage keeps after the stage, and nothing else", () => {
    expect(deploymentFor(STAGE, KEPT).names).toEqual({
      bus: BUS,
      archive: BUS,
      ledgerTable: TABLE,
    });
  });
});

interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: unknown;
  readonly Principal: unknown;
  readonly Resource: unknown;
  readonly Condition?: unknown;
}
