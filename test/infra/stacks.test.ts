import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type PipelineSpec,
  parseConfig,
  referencedSecretNames,
  type TapestryConfig,
} from "@tapestry/core/config";
import { DETAIL_TYPES, eventRegistrySchemas, eventSourceOf } from "@tapestry/core/events";
import {
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  fillPipelineRunDefinition,
  PIPELINE_RUN_FUNCTIONS,
  type PipelineRunFunction,
  substituteAslPlaceholders,
  TASK_FUNCTION_TIMEOUT_SECONDS,
} from "@tapestry/core/pipeline";
import {
  PROVISION_FUNCTION_TIMEOUT_SECONDS,
  PROVISION_FUNCTIONS,
  type ProvisionFunction,
} from "@tapestry/core/provisioning";
import { App as CdkApp, Stack as CdkStack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { CfnTable } from "aws-cdk-lib/aws-dynamodb";
import {
  Code as LambdaCode,
  Function as LambdaFunction,
  Runtime as LambdaRuntime,
} from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { PIPELINE_RUN_ASL } from "../../stacks/pipelines";
import { PROVISION_ASL } from "../../stacks/provisioning";
import { SST_CUSTOM_RESOURCE_HANDLER, TapestryStackSynthesizer } from "../../stacks/synthesizer";
import kickstart from "../../tapestry.config";
import { runAwsSolutionsChecks } from "./nag";
import {
  type CfnResource,
  type CfnTemplate,
  type SynthesizedApp,
  synthesize,
  TEST_ACCOUNT,
  TEST_REGION,
} from "./synth";
import {
  functionsOf,
  iamStatementsOf,
  logicalIdOf,
  propertyOf,
  resolveJoin,
  resourcesOf,
  type Statement,
  WILDCARD_RESOURCE_ACTIONS,
} from "./template-queries";

/**
 * The synthesized CloudFormation of the whole app, checked offline with aws-cdk-lib/assertions.
 * Every synth bundles the functions into .sst/artifacts (keyed by construct path, which holds
 * the stage): the stages synthesized here ("test", "prod") belong to this file alone, and each
 * other infra test file synthesizes stages of its own, so no two files write the same bundle.
 */

const KICKSTART = parseConfig(structuredClone(kickstart), "tapestry.config.ts");
const kickstartPipeline = KICKSTART.pipelines[0] as PipelineSpec;

/** Three pipelines with different schedules (one disabled), plus every aws setting changed, deployed to "prod". */
const PROD: TapestryConfig = parseConfig({
  ...structuredClone(kickstart),
  aws: {
    eventArchiveRetentionDays: 365,
    logRetentionDays: 90,
    statusApi: {
      corsAllowOrigins: ["https://ops.rain-shield.example"],
      throttleRateLimit: 25,
      throttleBurstLimit: 50,
    },
  },
  pipelines: [
    kickstartPipeline,
    {
      ...kickstartPipeline,
      name: "hourly-contacts",
      description: undefined,
      schedule: { expression: "rate(1 hour)" },
    },
    {
      ...kickstartPipeline,
      name: "paused-audience",
      schedule: { expression: "cron(30 2 ? * MON-FRI *)", timezone: "Europe/Berlin", enabled: false },
    },
  ],
});

/** The construct id of each task function the pipeline-run definition names. */
const TASK_FUNCTION_IDS: Readonly<Record<PipelineRunFunction, string>> = {
  RunLockFunctionArn: "RunLock",
  PublishEventFunctionArn: "PublishEvent",
  StartStepFunctionArn: "StartStep",
  PollStepFunctionArn: "PollStep",
  CancelStepFunctionArn: "CancelStep",
  AwaitWebhookFunctionArn: "AwaitWebhook",
};

let test: SynthesizedApp;
let prod: SynthesizedApp;
/** the clock the prod app is synthesized at: a rate schedule's StartDate follows from it */
const PROD_SYNTHESIZED_AT = new Date("2026-03-02T11:47:13.000Z");

beforeAll(async () => {
  test = await synthesize(KICKSTART, "test");
  prod = await synthesize(PROD, "prod", { synthesizedAt: PROD_SYNTHESIZED_AT });
}, 180_000);

describe("Events stack", () => {
  it("creates the bus tapestry-<stage> and archives every Tapestry event (pipeline and provisioning) for 90 days by default", () => {
    const events = test.template("Events");
    events.resourceCountIs("AWS::Events::EventBus", 1);
    events.hasResourceProperties("AWS::Events::EventBus", { Name: "tapestry-test" });
    events.resourceCountIs("AWS::Events::Archive", 1);
    events.hasResourceProperties("AWS::Events::Archive", {
      ArchiveName: "tapestry-test",
      RetentionDays: 90,
      EventPattern: { source: ["tapestry.pipeline", "tapestry.provisioning"] },
      SourceArn: { "Fn::GetAtt": [Match.anyValue(), "Arn"] },
    });
    events.hasResource("AWS::Events::Archive", { DeletionPolicy: "Delete" });
  });

  it("keeps the configured retention, and retains the archive on a prod-like stage", () => {
    const events = prod.template("Events");
    events.hasResourceProperties("AWS::Events::Archive", {
      ArchiveName: "tapestry-prod",
      RetentionDays: 365,
    });
    events.hasResource("AWS::Events::Archive", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("registers one draft-4 JSON Schema per detail-type, generated from the catalog", () => {
    const events = test.template("Events");
    events.resourceCountIs("AWS::EventSchemas::Registry", 1);
    events.hasResourceProperties("AWS::EventSchemas::Registry", { RegistryName: "tapestry-test" });
    events.resourceCountIs("AWS::EventSchemas::Schema", DETAIL_TYPES.length);
    for (const schema of eventRegistrySchemas()) {
      events.hasResourceProperties("AWS::EventSchemas::Schema", {
        SchemaName: `${eventSourceOf(schema.detailType)}@${schema.detailType}`,
        Type: "JSONSchemaDraft4",
        Content: schema.content,
      });
      expect(JSON.parse(schema.content)).toMatchObject({
        $schema: "http://json-schema.org/draft-04/schema#",
        properties: { "detail-type": { enum: [schema.detailType] } },
      });
    }
  });
});

describe("Provisioning stack", () => {
  const PROVISION_TASK_IDS = {
    ProvisioningRunFunctionArn: "ProvisioningRun",
    BootstrapWarehouseFunctionArn: "BootstrapWarehouse",
    EnsureAirbyteFunctionArn: "EnsureAirbyte",
    WriteGrouparooConfigFunctionArn: "WriteGrouparooConfig",
    ToolStackFunctionArn: "ToolStack",
    ToolHealthFunctionArn: "ToolHealth",
  } as const;

  it("inlines provision.asl.json as the definition, its placeholders filled with the six task functions' ARNs", () => {
    const machines = resourcesOf(test, "Provisioning", "AWS::StepFunctions::StateMachine");
    // the other is the deprovision state machine (test/infra/tool-stack-wiring.test.ts)
    expect(machines).toHaveLength(2);
    const machine = machines.find(
      (m) => m.resource.Properties?.StateMachineName === "tapestry-test-provision",
    );
    expect(Object.keys(PROVISION_TASK_IDS).sort()).toEqual([...PROVISION_FUNCTIONS].sort());
    const expected = substituteAslPlaceholders(
      readFileSync(PROVISION_ASL, "utf8"),
      Object.fromEntries(
        Object.entries(PROVISION_TASK_IDS).map(([placeholder, id]) => [
          placeholder,
          `arn-of:${logicalIdOf(test, "Provisioning", "AWS::Lambda::Function", id)}`,
        ]),
      ),
    );
    const inlined = resolveJoin(machine?.resource.Properties?.DefinitionString, (ref) => `arn-of:${ref}`);
    expect(inlined).toBe(expected);
    // the execution's own deadline, from the definition (provisionTimeoutSeconds)
    expect(JSON.parse(inlined).TimeoutSeconds).toBeGreaterThan(0);
  });

  it("is a Standard state machine that logs errors without execution data, traced by X-Ray", () => {
    test.template("Provisioning").hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineName: "tapestry-test-provision",
      StateMachineType: "STANDARD",
      LoggingConfiguration: { Level: "ERROR", IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });

  it("gives each task function the timeout core's table sets for it, and the variables it reads", () => {
    for (const [placeholder, id] of Object.entries(PROVISION_TASK_IDS)) {
      const logicalId = logicalIdOf(test, "Provisioning", "AWS::Lambda::Function", id);
      const fn = functionsOf(test, "Provisioning").find((f) => f.id === logicalId);
      expect({ id, timeout: fn?.resource.Properties?.Timeout }).toEqual({
        id,
        timeout: PROVISION_FUNCTION_TIMEOUT_SECONDS[placeholder as ProvisionFunction],
      });
      const variables = Object.keys(
        propertyOf<{ Variables: Record<string, unknown> }>(fn?.resource, "Environment").Variables,
      ).filter((name) => name.startsWith("TAPESTRY_"));
      expect(variables.sort(), id).toEqual(
        [
          "TAPESTRY_EVENT_BUS",
          "TAPESTRY_LEDGER_TABLE",
          "TAPESTRY_STAGE",
          ...(id === "WriteGrouparooConfig" ? ["TAPESTRY_GROUPAROO_CONFIG_BUCKET"] : []),
          // no templates while nothing is self-hosted: "{}", and a self-hosted tool's deploy names the fix
          ...(id === "ToolStack" ? ["TAPESTRY_TOOL_STACKS"] : []),
        ]
          // the health check publishes nothing
          .filter((name) => id !== "ToolHealth" || name !== "TAPESTRY_EVENT_BUS")
          .sort(),
      );
    }
  });

  it("keeps Grouparoo's files in a private, encrypted, versioned, TLS-only bucket", () => {
    const provisioning = test.template("Provisioning");
    provisioning.resourceCountIs("AWS::S3::Bucket", 1);
    provisioning.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: "Enabled" },
    });
    provisioning.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("is started by the status API alone: StartExecution on the provision state machine, its ARN in the handler's variables", () => {
    const machine = logicalIdOf(test, "Provisioning", "AWS::StepFunctions::StateMachine", "Provision");
    const starters = iamStatementsOf(test).filter(
      (s) => s.actions.includes("states:StartExecution") && s.resources.some((r) => r.includes(machine)),
    );
    expect(starters.map((s) => s.policyOf.replace(/RoleDefaultPolicy.*/, ""))).toEqual(["StatusApiHandler"]);
    const [handler] = functionsOf(test, "StatusApi");
    const variables = propertyOf<{ Variables: Record<string, unknown> }>(
      handler?.resource,
      "Environment",
    ).Variables;
    expect(JSON.stringify(variables.TAPESTRY_PROVISION_STATE_MACHINE_ARN)).toContain(machine);
  });
});

describe("Ledger stack", () => {
  it("creates one on-demand table with point-in-time recovery, KMS encryption and a TTL for locks", () => {
    const ledger = test.template("Ledger");
    ledger.resourceCountIs("AWS::DynamoDB::Table", 1);
    ledger.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: "runsByPipeline",
          KeySchema: [
            { AttributeName: "gsi1pk", KeyType: "HASH" },
            { AttributeName: "gsi1sk", KeyType: "RANGE" },
          ],
        }),
      ],
    });
    ledger.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
  });

  it("retains the table tapestry-<stage>-ledger, with deletion protection, on a prod-like stage", () => {
    prod.template("Ledger").hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({ TableName: "tapestry-prod-ledger", DeletionProtectionEnabled: true }),
    });
  });

  it("subscribes the projector to every pipeline event on the bus, with retries and a dead-letter queue", () => {
    const ledger = test.template("Ledger");
    const projector = logicalIdOf(test, "Ledger", "AWS::Lambda::Function", "Projector");
    const queue = logicalIdOf(test, "Ledger", "AWS::SQS::Queue", "ProjectorDeadLetters");
    ledger.resourceCountIs("AWS::Events::Rule", 1);
    ledger.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: Match.anyValue(),
      // alerts share the bus, but the run ledger refuses them: the rule leaves them out
      EventPattern: {
        source: ["tapestry.pipeline"],
        "detail-type": [{ "anything-but": ["ThresholdBreached", "ThresholdRecovered"] }],
      },
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [projector, "Arn"] },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    // what the projector itself refuses goes there too, once Lambda's own retries are spent
    ledger.hasResourceProperties("AWS::Lambda::Function", {
      Handler: Match.stringLikeRegexp("project-event"),
      DeadLetterConfig: { TargetArn: { "Fn::GetAtt": [queue, "Arn"] } },
    });
    ledger.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "tapestry-test-ProjectorDeadLetters",
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86400,
    });
  });
});

describe("Pipelines stack", () => {
  it("inlines the ASL file as the definition, its placeholders filled with the task functions' ARNs", () => {
    const pipelines = test.template("Pipelines");
    pipelines.resourceCountIs("AWS::StepFunctions::StateMachine", 1);
    const [machine] = resourcesOf(test, "Pipelines", "AWS::StepFunctions::StateMachine");
    const entries = TASK_FUNCTION_IDS;
    expect(Object.keys(entries).sort()).toEqual([...PIPELINE_RUN_FUNCTIONS].sort());
    const expected = fillPipelineRunDefinition(readFileSync(PIPELINE_RUN_ASL, "utf8"), {
      functionArns: Object.fromEntries(
        Object.entries(entries).map(([placeholder, id]) => [
          placeholder,
          `arn-of:${logicalIdOf(test, "Pipelines", "AWS::Lambda::Function", id)}`,
        ]),
      ) as Record<PipelineRunFunction, string>,
      runTimeoutSeconds: definitionTimeoutSeconds(KICKSTART.pipelines, DEFAULT_PIPELINE_SETTINGS),
    });
    const inlined = resolveJoin(machine?.resource.Properties?.DefinitionString, (ref) => `arn-of:${ref}`);
    expect(inlined).toBe(expected);
  });

  it("is a Standard state machine that logs errors without execution data, traced by X-Ray", () => {
    test.template("Pipelines").hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineName: "tapestry-test-pipeline-run",
      StateMachineType: "STANDARD",
      LoggingConfiguration: {
        Level: "ERROR",
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
      TracingConfiguration: { Enabled: true },
    });
  });

  it("gives each task function the timeout core's table sets for it", () => {
    for (const placeholder of PIPELINE_RUN_FUNCTIONS) {
      const id = TASK_FUNCTION_IDS[placeholder];
      const logicalId = logicalIdOf(test, "Pipelines", "AWS::Lambda::Function", id);
      const fn = functionsOf(test, "Pipelines").find((f) => f.id === logicalId);
      expect({ id, timeout: fn?.resource.Properties?.Timeout }).toEqual({
        id,
        timeout: TASK_FUNCTION_TIMEOUT_SECONDS[placeholder],
      });
    }
  });

  it("has one schedule per pipeline, with its expression, time zone, state, retry policy and dead-letter queue", () => {
    const schedules = resourcesOf(prod, "Pipelines", "AWS::Scheduler::Schedule");
    expect(schedules).toHaveLength(PROD.pipelines.length);
    const starter = logicalIdOf(prod, "Pipelines", "AWS::Lambda::Function", "StartScheduledRun");
    const queue = logicalIdOf(prod, "Pipelines", "AWS::SQS::Queue", "ScheduleDeadLetters");
    for (const pipeline of PROD.pipelines) {
      prod.template("Pipelines").hasResourceProperties("AWS::Scheduler::Schedule", {
        Name: pipeline.name,
        GroupName: { Ref: Match.anyValue() },
        ScheduleExpression: pipeline.schedule.expression,
        ScheduleExpressionTimezone: pipeline.schedule.timezone,
        State: pipeline.schedule.enabled ? "ENABLED" : "DISABLED",
        FlexibleTimeWindow: { Mode: "OFF" },
        Target: {
          Arn: { "Fn::GetAtt": [starter, "Arn"] },
          RoleArn: Match.anyValue(),
          Input: JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>", pipeline }),
          RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
        },
      });
    }
    expect(schedules.map((s) => s.resource.Properties?.ScheduleExpressionTimezone)).toEqual([
      "America/New_York",
      "UTC",
      "Europe/Berlin",
    ]);
    prod
      .template("Pipelines")
      .hasResourceProperties("AWS::Scheduler::ScheduleGroup", { Name: "tapestry-prod" });
  });

  it("gives a rate schedule a StartDate on the hour grid at least 15 minutes ahead, and a cron none", () => {
    const startDates = resourcesOf(prod, "Pipelines", "AWS::Scheduler::Schedule").map((s) => [
      s.resource.Properties?.Name,
      s.resource.Properties?.StartDate,
    ]);
    expect(startDates.filter(([, start]) => start === undefined).map(([name]) => name)).toEqual([
      "rain-shield-audience",
      "paused-audience",
    ]);
    // 11:47:13 + 15 min = 12:02:13: the first whole hour after it
    expect(startDates.find(([name]) => name === "hourly-contacts")?.[1]).toBe("2026-03-02T13:00:00Z");
  });

  it("lets the scheduler invoke the run starter and write its dead letters, and nothing else", () => {
    const role = resourcesOf(test, "Pipelines", "AWS::IAM::Role").find((r) =>
      r.id.startsWith("SchedulerRole"),
    );
    expect(role?.resource.Properties?.AssumeRolePolicyDocument).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Action: "sts:AssumeRole",
          Effect: "Allow",
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": TEST_ACCOUNT } },
        },
      ],
    });
    expect(actionsOfRole(test, "SchedulerRole")).toEqual(["lambda:InvokeFunction", "sqs:SendMessage"]);
  });

  it("refuses a pipeline whose spec outgrows a schedule's input, before anything is built", async () => {
    const huge = parseConfig({
      ...structuredClone(kickstart),
      pipelines: [
        {
          ...kickstartPipeline,
          stages: Array.from({ length: 40 }, (_, i) => ({
            name: `stage-${i}`,
            steps: (kickstartPipeline.stages[0]?.steps ?? []).map((step) => ({
              ...step,
              name: `${step.name}-${i}`,
              // short steps, so that 40 stages stay within the history budget (core pipeline/bounds.ts)
              timeoutMinutes: 5,
            })),
          })),
        },
      ],
    });
    await expect(synthesize(huge, "toolarge")).rejects.toThrow(
      /pipelines: rain-shield-audience's spec is \d+ characters as a schedule's input, over EventBridge Scheduler's 8192/,
    );
  });
});

describe("Status API stack", () => {
  it("requires SigV4 (AWS_IAM) on every route but GET /health and the two webhook routes, the $default route included", () => {
    const routes = resourcesOf(test, "StatusApi", "AWS::ApiGatewayV2::Route").map((r) => ({
      key: r.resource.Properties?.RouteKey,
      auth: r.resource.Properties?.AuthorizationType,
    }));
    expect(routes.map((r) => r.key).sort()).toEqual(
      [
        "$default",
        "GET /health",
        "GET /status",
        "GET /pipelines",
        "GET /pipelines/{name}",
        "GET /pipelines/{name}/runs",
        "POST /pipelines/{name}/runs",
        "GET /runs/{runId}",
        "POST /runs/{runId}/cancel",
        "POST /runs/{runId}/retry",
        "GET /runs/{runId}/events",
        "GET /provisioning",
        "POST /provisioning",
        "GET /alerts",
        "DELETE /provisioning",
        "GET /stacks",
        "POST /webhooks/airbyte/{secret}",
        "POST /webhooks/dbt-cloud",
      ].sort(),
    );
    const open = new Set(["GET /health", "POST /webhooks/airbyte/{secret}", "POST /webhooks/dbt-cloud"]);
    for (const route of routes) {
      expect({ route: route.key, auth: route.auth }).toEqual({
        route: route.key,
        auth: open.has(String(route.key)) ? "NONE" : "AWS_IAM",
      });
    }
  });

  it("sends the two webhook routes to a function of their own, throttled apart from the rest of the API", () => {
    const routes = resourcesOf(test, "StatusApi", "AWS::ApiGatewayV2::Route");
    const target = (key: string) =>
      routes.find((r) => r.resource.Properties?.RouteKey === key)?.resource.Properties?.Target;
    const receiver = logicalIdOf(test, "StatusApi", "AWS::Lambda::Function", "WebhookReceiver");
    const integrations = resourcesOf(test, "StatusApi", "AWS::ApiGatewayV2::Integration");
    const integrationOf = (key: string) =>
      integrations.find((i) => JSON.stringify(target(key)).includes(i.id))?.resource.Properties
        ?.IntegrationUri;
    for (const key of ["POST /webhooks/airbyte/{secret}", "POST /webhooks/dbt-cloud"]) {
      expect(JSON.stringify(integrationOf(key)), key).toContain(receiver);
    }
    expect(JSON.stringify(integrationOf("GET /status"))).not.toContain(receiver);
    test.template("StatusApi").hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      RouteSettings: {
        "POST /webhooks/airbyte/{secret}": { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 20 },
        "POST /webhooks/dbt-cloud": { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 20 },
      },
    });
  });

  it("answers browser preflights without credentials once origins are set: OPTIONS /{proxy+}, no authorizer, the status handler", () => {
    const preflightRoutes = (app: SynthesizedApp) =>
      resourcesOf(app, "StatusApi", "AWS::ApiGatewayV2::Route").filter((r) =>
        String(r.resource.Properties?.RouteKey).startsWith("OPTIONS "),
      );
    expect(preflightRoutes(test)).toEqual([]);
    const routes = preflightRoutes(prod);
    expect(routes.map((r) => r.resource.Properties?.RouteKey)).toEqual(["OPTIONS /{proxy+}"]);
    const preflight = routes[0]?.resource.Properties ?? {};
    expect(preflight.AuthorizationType).toBe("NONE");
    expect(preflight.AuthorizerId).toBeUndefined();
    const catchAll = resourcesOf(prod, "StatusApi", "AWS::ApiGatewayV2::Route").find(
      (r) => r.resource.Properties?.RouteKey === "$default",
    );
    expect(preflight.Target).toEqual(catchAll?.resource.Properties?.Target);
    // every other route keeps SigV4 when CORS is open
    for (const route of resourcesOf(prod, "StatusApi", "AWS::ApiGatewayV2::Route")) {
      const key = String(route.resource.Properties?.RouteKey);
      if (key === "GET /health" || key.startsWith("OPTIONS ") || key.startsWith("POST /webhooks/")) continue;
      expect({ key, auth: route.resource.Properties?.AuthorizationType }).toEqual({ key, auth: "AWS_IAM" });
    }
  });

  it("throttles the stage and writes JSON access logs", () => {
    const api = test.template("StatusApi");
    api.resourceCountIs("AWS::ApiGatewayV2::Stage", 1);
    api.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: {
        DestinationArn: { "Fn::GetAtt": [Match.anyValue(), "Arn"] },
        Format: Match.stringLikeRegexp('"routeKey":"\\$context.routeKey"'),
      },
    });
    prod.template("StatusApi").hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
    });
  });

  it("leaves CORS to the status handler, origins or not: API-level CORS would answer preflights itself and drop the handler's headers", () => {
    for (const app of [test, prod]) {
      const [api] = resourcesOf(app, "StatusApi", "AWS::ApiGatewayV2::Api");
      expect(api?.resource.Properties?.CorsConfiguration).toBeUndefined();
    }
  });
});

describe("who may publish tapestry.* events", () => {
  /** The roles a bus policy's Deny leaves out, by construct id (`RunLockRole`, ...). */
  const exemptedRoles = (app: SynthesizedApp) => {
    const policies = app
      .templates()
      .flatMap(({ stack }) => resourcesOf(app, stack, "AWS::Events::EventBusPolicy"));
    expect(policies).toHaveLength(1);
    const statement = policies[0]?.resource.Properties?.Statement as BusPolicyStatement;
    const principals = statement.Condition.ArnNotEquals["aws:PrincipalArn"];
    return {
      statement,
      roles: principals
        .map((arn) =>
          // a role of another stack comes through that stack's export of its ARN
          resolveJoin(arn, (ref) => ref.replace(/[0-9A-F]{8}$/, "")).replace(
            /^import:.*FnGetAtt(\w+?Role)[0-9A-F]{8}Arn\w*$/,
            "$1",
          ),
        )
        .sort(),
    };
  };

  it("denies events:PutEvents of any tapestry.* source on the bus to every principal but the publishing functions' roles", () => {
    for (const app of [test, prod]) {
      const { statement, roles } = exemptedRoles(app);
      expect(statement).toMatchObject({
        Effect: "Deny",
        Principal: "*",
        Action: "events:PutEvents",
        Condition: { "ForAnyValue:StringLike": { "events:source": "tapestry.*" } },
      });
      expect(roles).toEqual(
        [
          // WaitForWebhook's registration and the webhook receiver publish the confirming poll's step event
          "AwaitWebhookRole",
          "CancelStepRole",
          "PollStepRole",
          "PublishEventRole",
          "ReconcileRunRole",
          "RunLockRole",
          "StartStepRole",
          // a queued run and a cancel request are recorded, then put on the bus, by the status API
          "StatusApiHandlerRole",
          "WebhookReceiverRole",
        ]
          // the alert functions publish their incidents' events
          .concat(["CheckFreshnessRole", "EvaluateAlertsRole"])
          // the provision tasks publish their steps' events (source tapestry.provisioning)
          .concat([
            "BootstrapWarehouseRole",
            "EnsureAirbyteRole",
            "ProvisioningRunRole",
            "WriteGrouparooConfigRole",
            // the tool stacks' events; deprovisioning's (the health check publishes nothing)
            "ToolStackRole",
            "DeprovisioningRunRole",
          ])
          .sort(),
      );
      // the bus the policy guards is the bus the publishers may put events on
      const putEvents = iamStatementsOf(app).filter((s) => s.actions.includes("events:PutEvents"));
      const bus = resolveJoin(statement.Resource, (ref) => `arn-of:${ref}`);
      for (const grant of putEvents) expect(grant.resources).toEqual([bus]);
    }
  });

  it("derives the exempted roles from the functions that publish: a role allowed PutEvents is exempted, no other", () => {
    for (const app of [test, prod]) {
      const { roles } = exemptedRoles(app);
      const publishers = iamStatementsOf(app)
        .filter((s) => s.actions.includes("events:PutEvents"))
        .map((s) => s.policyOf.replace(/DefaultPolicy[0-9A-F]{8}$/, ""));
      expect([...new Set(publishers)].sort()).toEqual(roles);
      for (const silent of ["ProjectorRole", "StartScheduledRunRole", "SchedulerRole", "RecordMetricsRole"]) {
        expect(roles).not.toContain(silent);
      }
    }
  });
});

describe("the run reconciler", () => {
  it("gets the pipeline-run state machine's FAILED, TIMED_OUT and ABORTED executions from the default bus, with retries and a dead-letter queue", () => {
    const rules = resourcesOf(test, "Pipelines", "AWS::Events::Rule");
    const rule = rules.find((r) => r.id.startsWith("ReconcileRuns"));
    const stateMachine = logicalIdOf(test, "Pipelines", "AWS::StepFunctions::StateMachine", "PipelineRun");
    const reconciler = logicalIdOf(test, "Pipelines", "AWS::Lambda::Function", "ReconcileRun");
    const queue = logicalIdOf(test, "Pipelines", "AWS::SQS::Queue", "ReconcilerDeadLetters");
    // no EventBusName: Step Functions reports its executions on the account's default bus
    expect(rule?.resource.Properties?.EventBusName).toBeUndefined();
    expect(rule?.resource.Properties?.EventPattern).toEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"], stateMachineArn: [{ Ref: stateMachine }] },
    });
    expect(rule?.resource.Properties?.Targets).toEqual([
      expect.objectContaining({
        Arn: { "Fn::GetAtt": [reconciler, "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      }),
    ]);
    const fn = functionsOf(test, "Pipelines").find((f) => f.id.startsWith("ReconcileRun"));
    expect(fn?.resource.Properties?.DeadLetterConfig).toEqual({
      TargetArn: { "Fn::GetAtt": [queue, "Arn"] },
    });
    expect(fn?.resource.Properties?.Environment).toMatchObject({
      Variables: {
        TAPESTRY_LEDGER_TABLE: expect.anything(),
        TAPESTRY_EVENT_BUS: expect.anything(),
        TAPESTRY_STATE_MACHINE_ARN: expect.anything(),
      },
    });
  });

  it("hears every StepStarted on the Tapestry bus (a step that started after its run ended), with the same retries and queue", () => {
    const rule = resourcesOf(test, "Pipelines", "AWS::Events::Rule").find((r) =>
      r.id.startsWith("CloseLateSteps"),
    );
    const reconciler = logicalIdOf(test, "Pipelines", "AWS::Lambda::Function", "ReconcileRun");
    const queue = logicalIdOf(test, "Pipelines", "AWS::SQS::Queue", "ReconcilerDeadLetters");
    expect(rule?.resource.Properties?.EventBusName).toEqual(expect.anything());
    expect(rule?.resource.Properties?.EventPattern).toEqual({
      source: ["tapestry.pipeline"],
      "detail-type": ["StepStarted"],
    });
    expect(rule?.resource.Properties?.Targets).toEqual([
      expect.objectContaining({
        Arn: { "Fn::GetAtt": [reconciler, "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      }),
    ]);
  });

  it("may describe and the status API may stop exactly the pipeline-run state machine's executions", () => {
    const arn = `arn:<partition>:states:${TEST_REGION}:${TEST_ACCOUNT}:execution:tapestry-test-pipeline-run:*`;
    for (const [role, action] of [
      ["ReconcileRunRole", "states:DescribeExecution"],
      ["StatusApiHandlerRole", "states:StopExecution"],
    ] as const) {
      const grants = iamStatementsOf(test).filter(
        (s) => s.policyOf.startsWith(role) && s.actions.includes(action),
      );
      expect(
        grants.map((g) => [g.actions, g.resources]),
        role,
      ).toEqual([[[action], [arn]]]);
    }
  });

  it("lets the status API describe exactly the provision state machine's executions", () => {
    const grants = iamStatementsOf(test).filter(
      (s) => s.policyOf.startsWith("StatusApiHandlerRole") && s.actions.includes("states:DescribeExecution"),
    );
    expect(grants.map((g) => [g.actions, g.resources])).toEqual([
      [
        ["states:DescribeExecution"],
        [`arn:<partition>:states:${TEST_REGION}:${TEST_ACCOUNT}:execution:tapestry-test-provision:*`],
      ],
    ]);
  });
});

describe("a stage that is not prod-like", () => {
  it("deletes everything with its stacks: table, bus, archive and dead-letter queues", () => {
    const kept = test
      .templates()
      .flatMap(({ stack, json }) => Object.entries(json.Resources).map(([id, r]) => ({ stack, id, r })))
      .filter(({ r }) =>
        ["AWS::DynamoDB::Table", "AWS::Events::EventBus", "AWS::Events::Archive", "AWS::SQS::Queue"].includes(
          r.Type,
        ),
      );
    // the table, the bus, the archive; the schedules', the projector's and the reconciler's dead letters;
    // the metrics recorder's, the alert evaluator's and the freshness check's
    expect(kept.length).toBe(9);
    for (const { stack, id, r } of kept) {
      expect({ resource: `${stack}/${id}`, policy: r.DeletionPolicy }).toEqual({
        resource: `${stack}/${id}`,
        policy: "Delete",
      });
    }
    test.template("Ledger").hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "tapestry-test-ledger",
      DeletionProtectionEnabled: false,
    });
  });
});

describe("cloud assembly", () => {
  it('sets no property to the empty string in any template (aws-cdk-lib writes KmsKeyIdentifier: "" on archives)', () => {
    for (const app of [test, prod]) {
      const empty = app.templates().flatMap(({ stack, json }) => emptyStringProperties(json, stack));
      expect(empty).toEqual([]);
    }
  });

  it("fails the synth, naming SST's handler, if a template ever uses the custom-resource code it does not publish", () => {
    const app = new CdkApp();
    const stack = new CdkStack(app, "Probe", { synthesizer: new TapestryStackSynthesizer() });
    // a Code binds one asset per instance: each function gets its own, as SST's handler does
    const props = () => ({
      code: LambdaCode.fromAsset(join("node_modules", "sst", "support", "custom-resources")),
      handler: "index.handler",
      runtime: LambdaRuntime.NODEJS_22_X,
    });
    new LambdaFunction(stack, "Published", props());
    expect(() => app.synth()).not.toThrow();
    new LambdaFunction(stack, SST_CUSTOM_RESOURCE_HANDLER, props());
    expect(() => app.synth({ force: true })).toThrow(
      /CustomResourceHandler, whose code Tapestry does not publish/,
    );
  });

  it("publishes exactly the assets its templates use: no orphan, nothing missing", () => {
    for (const app of [test, prod]) {
      const assembly = app.app.synth();
      for (const stack of assembly.stacks) {
        const manifest = JSON.parse(
          readFileSync(join(assembly.directory, `${stack.id}.assets.json`), "utf8"),
        ) as AssetManifestFile;
        const published = Object.values(manifest.files)
          .filter((file) => file.source.path !== stack.templateFile)
          .flatMap((file) => Object.values(file.destinations).map((d) => d.objectKey));
        const used = Object.values((stack.template as CfnTemplate).Resources)
          .filter((resource) => resource.Type === "AWS::Lambda::Function")
          .map((resource) => propertyOf<{ S3Key: string }>(resource, "Code").S3Key);
        expect({ stack: stack.stackName, published: published.sort() }).toEqual({
          stack: stack.stackName,
          published: [...new Set(used)].sort(),
        });
      }
    }
  });
});

describe("functions", () => {
  it("run Node 24 on arm64, traced, with their own log group and Powertools settings from the environment", () => {
    const functions = test.templates().flatMap(({ stack }) => functionsOf(test, stack));
    expect(functions.map((f) => f.id.replace(/[0-9A-F]{8}$/, "")).sort()).toEqual(
      [
        "AwaitWebhook",
        "CancelStep",
        "PollStep",
        "Projector",
        "PublishEvent",
        "ReconcileRun",
        "RunLock",
        "StartScheduledRun",
        "StartStep",
        "StatusApiHandler",
        "ProvisioningRun",
        "BootstrapWarehouse",
        "EnsureAirbyte",
        "WriteGrouparooConfig",
        "ToolStack",
        "ToolHealth",
        "DeprovisioningRun",
        "RecordMetrics",
        "EvaluateAlerts",
        "CheckFreshness",
        "WebhookReceiver",
      ].sort(),
    );
    for (const fn of functions) {
      const props = fn.resource.Properties ?? {};
      expect(props).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
        Environment: {
          Variables: expect.objectContaining({
            TAPESTRY_STAGE: "test",
            POWERTOOLS_SERVICE_NAME: expect.stringMatching(/^tapestry-/),
            POWERTOOLS_METRICS_NAMESPACE: "Tapestry",
            POWERTOOLS_LOG_LEVEL: "INFO",
          }),
        },
      });
    }
  });

  it("never carry a secret, a secret's name or the config in their environment", () => {
    const secretNames = referencedSecretNames(KICKSTART.tools);
    for (const { stack } of test.templates()) {
      for (const fn of functionsOf(test, stack)) {
        const environment = JSON.stringify(fn.resource.Properties?.Environment ?? {});
        for (const name of secretNames) expect(environment).not.toContain(name);
        expect(environment).not.toContain("TAPESTRY_CONFIG");
        expect(environment).not.toContain(kickstartPipeline.stages[0]?.steps[0]?.name ?? "?");
      }
    }
  });
});

/** What each role may do: exactly these actions, and each on the resources named below. */
const EXPECTED_ACTIONS: Record<string, readonly string[]> = {
  ProjectorRole: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "sqs:SendMessage"],
  RunLockRole: [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "events:PutEvents",
  ],
  PublishEventRole: ["events:PutEvents"],
  StartStepRole: ["events:PutEvents", "ssm:GetParameter"],
  PollStepRole: ["events:PutEvents", "ssm:GetParameter"],
  CancelStepRole: ["events:PutEvents", "ssm:GetParameter"],
  StartScheduledRunRole: ["sqs:SendMessage", "states:StartExecution"],
  StatusApiHandlerRole: [
    // POST /provisioning frees the provisioning lock when its execution cannot start
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "events:PutEvents",
    // is the run holding the provisioning lock still going? (execution:<prefix>-provision:*)
    "states:DescribeExecution",
    "states:StartExecution",
    "states:StopExecution",
  ],
  // the job's TOKEN# item, the tools' secrets (the confirming poll), its step event, the task token
  AwaitWebhookRole: ["dynamodb:UpdateItem", "events:PutEvents", "ssm:GetParameter", "states:SendTaskSuccess"],
  WebhookReceiverRole: [
    "dynamodb:UpdateItem",
    "events:PutEvents",
    "ssm:GetParameter",
    "states:SendTaskSuccess",
  ],
  ReconcileRunRole: [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "events:PutEvents",
    "sqs:SendMessage",
    "ssm:GetParameter",
    "states:DescribeExecution",
  ],
  ProvisioningRunRole: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "events:PutEvents"],
  BootstrapWarehouseRole: [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "events:PutEvents",
    "ssm:AddTagsToResource",
    "ssm:GetParameter",
    "ssm:PutParameter",
  ],
  EnsureAirbyteRole: [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "events:PutEvents",
    "ssm:GetParameter",
    "ssm:PutParameter",
  ],
  WriteGrouparooConfigRole: [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "events:PutEvents",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
  ],
  // the run's record and the stacks' records; CloudFormation only through the templates' grantDeploy
  // (none while the config self-hosts nothing)
  ToolStackRole: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "events:PutEvents"],
  // Airbyte's client credentials only when Airbyte is self-hosted (not in the kickstart)
  ToolHealthRole: [],
  DeprovisioningRunRole: [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "events:PutEvents",
    "ssm:DeleteParameters",
    "ssm:GetParametersByPath",
  ],
  // the Alerts stack's (the notifier's, deployed with a Slack webhook only: test/infra/alerts.test.ts)
  RecordMetricsRole: ["sqs:SendMessage"],
  EvaluateAlertsRole: [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "events:PutEvents",
    "sqs:SendMessage",
  ],
  CheckFreshnessRole: [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "events:PutEvents",
    "sqs:SendMessage",
  ],
};
const EVERY_FUNCTION = [
  "logs:CreateLogStream",
  "logs:PutLogEvents",
  "xray:PutTelemetryRecords",
  "xray:PutTraceSegments",
];

function actionsOfRole(app: SynthesizedApp, rolePrefix: string): string[] {
  const actions = iamStatementsOf(app)
    .filter((s) => s.policyOf.startsWith(rolePrefix))
    .flatMap((s) => s.actions);
  return [...new Set(actions)].sort();
}

describe("IAM: least privilege", () => {
  let statements: readonly Statement[];
  beforeAll(() => {
    statements = iamStatementsOf(test);
  });

  it("never allows every action, nor every action of a service", () => {
    for (const statement of statements) {
      for (const action of statement.actions) expect(action, statement.policyOf).not.toMatch(/(^\*$|:\*$)/);
    }
  });

  it("uses Resource * only for actions AWS offers no resource-level permission for, each listed with its reason", () => {
    const wildcards = statements.filter((s) => s.resources.some((r) => r === "*"));
    expect(wildcards.length).toBeGreaterThan(0);
    for (const statement of wildcards) {
      for (const action of statement.actions) {
        expect(WILDCARD_RESOURCE_ACTIONS[action], `${statement.policyOf}: ${action} on *`).toMatch(/.{20,}/);
      }
    }
  });

  it("gives each function exactly the actions it uses", () => {
    for (const [role, actions] of Object.entries(EXPECTED_ACTIONS)) {
      expect(actionsOfRole(test, role), role).toEqual([...new Set([...actions, ...EVERY_FUNCTION])].sort());
    }
  });

  it("lets the tool-facing functions read exactly the configured secrets' parameters, and no one else any", () => {
    const parameter = (name: string) =>
      `arn:<partition>:ssm:${TEST_REGION}:${TEST_ACCOUNT}:parameter/tapestry/test/${name}`;
    const expected = referencedSecretNames(KICKSTART.tools).map(parameter).sort();
    // the kickstart's steps name their connections: those two ids, as provisioning recorded them
    const connections = ["zoom-webinar-registrants", "salesforce-contacts"]
      .map((name) => parameter(`provisioning/airbyte/connection/${name}`))
      .sort();
    const ssm = statements.filter((s) => s.actions.some((a) => a.startsWith("ssm:")));
    const grants = (role: string) =>
      ssm
        .filter((s) => s.policyOf.replace(/RoleDefaultPolicy.*/, "") === role)
        .map((s) => ({ actions: [...s.actions].sort(), resources: [...s.resources].sort() }));
    expect([...new Set(ssm.map((s) => s.policyOf.replace(/RoleDefaultPolicy.*/, "")))].sort()).toEqual([
      "AwaitWebhook",
      "BootstrapWarehouse",
      "CancelStep",
      // the ids provisioning recorded, listed for the teardown's report and deleted by its purge
      "DeprovisioningRun",
      "EnsureAirbyte",
      "PollStep",
      "ReconcileRun",
      "StartStep",
      "WebhookReceiver",
    ]);
    for (const step of ["StartStep", "PollStep", "CancelStep"]) {
      expect(grants(step)).toEqual([
        { actions: ["ssm:GetParameter"], resources: expected },
        { actions: ["ssm:GetParameter"], resources: connections },
      ]);
    }
    // the reconciler cancels, WaitForWebhook's task and the webhook receiver poll: the secrets and the names
    for (const role of ["ReconcileRun", "AwaitWebhook", "WebhookReceiver"]) {
      expect(grants(role), role).toEqual([
        { actions: ["ssm:GetParameter"], resources: [...expected, ...connections].sort() },
      ]);
    }
    const privateKeys = [
      "TAPESTRY_AIRBYTE_PRIVATE_KEY",
      "TAPESTRY_DBT_PRIVATE_KEY",
      "TAPESTRY_GROUPAROO_PRIVATE_KEY",
    ];
    // the bootstrap reads the admin's key and the service users' keys, and writes only the latter
    expect(grants("BootstrapWarehouse")).toEqual([
      {
        actions: ["ssm:GetParameter"],
        resources: ["SNOWFLAKE_ADMIN_PRIVATE_KEY", ...privateKeys].map(parameter).sort(),
      },
      {
        actions: ["ssm:AddTagsToResource", "ssm:PutParameter"],
        resources: privateKeys.map(parameter).sort(),
      },
    ]);
    // Airbyte's own credentials, the sources' secrets and the loader's key; the ids it records
    expect(grants("EnsureAirbyte")).toEqual([
      {
        actions: ["ssm:GetParameter"],
        resources: [
          "AIRBYTE_CLIENT_ID",
          "AIRBYTE_CLIENT_SECRET",
          "ZOOM_CLIENT_SECRET",
          "SALESFORCE_CLIENT_SECRET",
          "SALESFORCE_REFRESH_TOKEN",
          "TAPESTRY_AIRBYTE_PRIVATE_KEY",
        ]
          .map(parameter)
          .sort(),
      },
      {
        actions: ["ssm:GetParameter", "ssm:PutParameter"],
        resources: [
          "workspace/rain-shield",
          "destination/tapestry-warehouse",
          "source/zoom",
          "source/salesforce",
          "connection/zoom-webinar-registrants",
          "connection/salesforce-contacts",
        ]
          .map((object) => parameter(`provisioning/airbyte/${object}`))
          .sort(),
      },
    ]);
  });

  it("lets the provision state machine invoke exactly its six task functions (unqualified ARNs)", () => {
    const invoke = statements.filter(
      (s) => s.policyOf.startsWith("ProvisionRole") && s.actions.includes("lambda:InvokeFunction"),
    );
    expect(invoke).toHaveLength(1);
    expect([...(invoke[0]?.resources ?? [])].sort()).toEqual(
      [
        "ProvisioningRun",
        "BootstrapWarehouse",
        "EnsureAirbyte",
        "WriteGrouparooConfig",
        "ToolStack",
        "ToolHealth",
      ]
        .map((id) => `arn-of:${logicalIdOf(test, "Provisioning", "AWS::Lambda::Function", id)}`)
        .sort(),
    );
  });

  it("lets the Grouparoo task touch only the grouparoo/ objects of its bucket", () => {
    const s3 = statements.filter((s) => s.actions.some((a) => a.startsWith("s3:")));
    expect(s3.map((s) => s.policyOf.replace(/RoleDefaultPolicy.*/, ""))).toEqual([
      "WriteGrouparooConfig",
      "WriteGrouparooConfig",
    ]);
    const bucket = logicalIdOf(test, "Provisioning", "AWS::S3::Bucket", "GrouparooConfig");
    expect(s3.map((s) => ({ actions: [...s.actions].sort(), resources: s.resources }))).toEqual([
      { actions: ["s3:ListBucket"], resources: [`arn-of:${bucket}`] },
      {
        actions: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
        resources: [expect.stringMatching(new RegExp(`^arn-of:${bucket}/grouparoo/\\*$`))],
      },
    ]);
  });

  it("lets the state machine invoke exactly its six task functions (unqualified ARNs)", () => {
    const invoke = statements.filter(
      (s) => s.policyOf.startsWith("PipelineRunRole") && s.actions.includes("lambda:InvokeFunction"),
    );
    expect(invoke).toHaveLength(1);
    expect([...(invoke[0]?.resources ?? [])].sort()).toEqual(
      ["RunLock", "PublishEvent", "StartStep", "PollStep", "CancelStep", "AwaitWebhook"]
        .map((id) => `arn-of:${logicalIdOf(test, "Pipelines", "AWS::Lambda::Function", id)}`)
        .sort(),
    );
  });
});

describe("tags and retention", () => {
  it("tags every taggable resource of every stack with app and stage", () => {
    const untagged: string[] = [];
    let tagged = 0;
    for (const { stack, json } of prod.templates()) {
      for (const [id, resource] of Object.entries(json.Resources)) {
        const tags = tagsOf(resource);
        if (tags === undefined) continue;
        tagged += 1;
        if (tags.app !== "tapestry" || tags.stage !== "prod") untagged.push(`${stack}/${id}`);
      }
    }
    expect(untagged).toEqual([]);
    expect(tagged).toBeGreaterThan(20);
    for (const type of [
      "AWS::DynamoDB::Table",
      "AWS::StepFunctions::StateMachine",
      "AWS::Lambda::Function",
      "AWS::SQS::Queue",
      "AWS::ApiGatewayV2::Api",
      "AWS::Events::EventBus",
      "AWS::EventSchemas::Registry",
    ]) {
      const resources = prod.templates().flatMap(({ json }) => Object.values(json.Resources));
      const ofType = resources.filter((r) => r.Type === type);
      expect(ofType.length, type).toBeGreaterThan(0);
      for (const resource of ofType)
        expect(tagsOf(resource), type).toMatchObject({ app: "tapestry", stage: "prod" });
    }
  });
});

/** Tags as a map, from CloudFormation's list form or the map form some resource types use. */
function tagsOf(resource: CfnResource): Record<string, unknown> | undefined {
  const tags = resource.Properties?.Tags;
  if (tags === undefined) return undefined;
  if (Array.isArray(tags)) {
    return Object.fromEntries(tags.map((tag: { Key: string; Value: unknown }) => [tag.Key, tag.Value]));
  }
  return tags as Record<string, unknown>;
}

describe("cdk-nag AwsSolutions", () => {
  it("finds nothing unsuppressed in any stack, and every suppression gives a reason a reviewer can check", () => {
    for (const app of [test, prod]) {
      const findings = runAwsSolutionsChecks(app);
      expect(findings.unsuppressed).toEqual([]);
      expect(findings.ruleErrors).toEqual([]);
      for (const suppression of findings.suppressed) expect(suppression.reason.length).toBeGreaterThan(60);
      // S1: the Grouparoo config bucket keeps no server access log (its writes are events)
      expect(new Set(findings.suppressed.map((s) => s.ruleId))).toEqual(
        new Set(["AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-S1", "AwsSolutions-SF1"]),
      );
    }
  });

  it("suppresses APIG4 on the preflight route with a reason, and only where CORS is open", () => {
    const preflight = (app: SynthesizedApp) =>
      runAwsSolutionsChecks(app).suppressed.filter(
        (s) => s.ruleId === "AwsSolutions-APIG4" && s.path.includes("OPTIONS"),
      );
    expect(preflight(test)).toEqual([]);
    expect(preflight(prod)).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/preflight/) }),
    ]);
  });

  it("suppresses APIG4 on exactly the two webhook routes and /health, each with the reason it needs no SigV4", () => {
    const open = runAwsSolutionsChecks(test)
      .suppressed.filter((s) => s.ruleId === "AwsSolutions-APIG4")
      .map((s) => ({ path: s.path, reason: s.reason }));
    expect(open).toHaveLength(3);
    expect(open).toContainEqual({
      path: expect.stringMatching(/webhooks--airbyte/),
      reason: expect.stringMatching(/secret in the URL authenticates it .*constant time/),
    });
    expect(open).toContainEqual({
      path: expect.stringMatching(/webhooks--dbt-cloud/),
      reason: expect.stringMatching(/HMAC-SHA256 of the raw body .*constant time/),
    });
  });

  it("still bites: a table without point-in-time recovery is an unsuppressed error", () => {
    const table = test.stacks
      .get("Ledger")
      ?.node.findAll()
      .find((c): c is CfnTable => c instanceof CfnTable);
    if (!table) throw new Error("no table in the Ledger stack");
    const recovery = table.pointInTimeRecoverySpecification;
    table.pointInTimeRecoverySpecification = { pointInTimeRecoveryEnabled: false };
    try {
      expect(runAwsSolutionsChecks(test).unsuppressed).toContainEqual(
        expect.stringContaining("AwsSolutions-DDB3"),
      );
    } finally {
      table.pointInTimeRecoverySpecification = recovery;
    }
  });
});

interface AssetManifestFile {
  readonly files: Record<
    string,
    {
      readonly source: { readonly path: string };
      readonly destinations: Record<string, { readonly objectKey: string }>;
    }
  >;
}

/** `<stack>/<logical id>: <property path>` of every property whose value is "", at any depth. */
function emptyStringProperties(template: CfnTemplate, stack: string): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) walk(item, `${path}[${index}]`);
    } else if (value && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        // only a property's value counts: "" as an array item is Fn::Join's separator
        if (child === "") found.push(`${path}.${key}`);
        else walk(child, `${path}.${key}`);
      }
    }
  };
  for (const [id, resource] of Object.entries(template.Resources))
    walk(resource.Properties, `${stack}/${id}`);
  return found;
}

interface BusPolicyStatement {
  readonly Effect: string;
  readonly Principal: unknown;
  readonly Action: unknown;
  readonly Resource: unknown;
  readonly Condition: { readonly ArnNotEquals: { readonly "aws:PrincipalArn": readonly unknown[] } };
}
