import { LEDGER_TABLE } from "@tapestry/core/adapters/aws";
import { WEBHOOK_THROTTLE } from "@tapestry/core/webhooks";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import { type StackContext, use } from "sst/constructs";
import { useDeployment } from "./deployment";
import { allow, tapestryFunction } from "./lambda";
import { Ledger } from "./ledger";
import { allowOnExecutions, allowTaskTokens, Pipelines } from "./pipelines";
import { allowOnProvisionExecutions, namedConnectionParameterArns, Provisioning } from "./provisioning";
import { secretParameterArns } from "./secrets";

/** The routes of docs/status-api.openapi.yaml; `/health` alone answers without credentials. */
export const STATUS_API_ROUTES: readonly {
  readonly path: string;
  readonly methods: readonly HttpMethod[];
}[] = [
  { path: "/status", methods: [HttpMethod.GET] },
  { path: "/pipelines", methods: [HttpMethod.GET] },
  { path: "/pipelines/{name}", methods: [HttpMethod.GET] },
  { path: "/pipelines/{name}/runs", methods: [HttpMethod.GET, HttpMethod.POST] },
  { path: "/runs/{runId}", methods: [HttpMethod.GET] },
  { path: "/runs/{runId}/cancel", methods: [HttpMethod.POST] },
  { path: "/runs/{runId}/retry", methods: [HttpMethod.POST] },
  { path: "/runs/{runId}/events", methods: [HttpMethod.GET] },
  { path: "/provisioning", methods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE] },
  { path: "/stacks", methods: [HttpMethod.GET] },
  { path: "/alerts", methods: [HttpMethod.GET] },
];

/**
 * The tools' completion webhooks (docs/status-api.openapi.yaml): no SigV4, which the tools cannot
 * send; Airbyte's URL secret and dbt Cloud's HMAC signature authenticate them in their handler.
 */
export const WEBHOOK_ROUTES: readonly { readonly path: string; readonly reason: string }[] = [
  {
    path: "/webhooks/airbyte/{secret}",
    reason:
      "POST /webhooks/airbyte/{secret} is Airbyte's workspace notification webhook: Airbyte cannot sign AWS requests and does not sign its webhooks, so the secret in the URL authenticates it (compared in constant time by the handler, which answers 401 otherwise); its own throttle, a 64 KiB body limit, and nothing is answered but 202",
  },
  {
    path: "/webhooks/dbt-cloud",
    reason:
      "POST /webhooks/dbt-cloud is dbt Cloud's job webhook: dbt Cloud cannot sign AWS requests; its Authorization header, the HMAC-SHA256 of the raw body keyed by the subscription's secret, authenticates it (verified in constant time by the handler, 401 otherwise); its own throttle, a 64 KiB body limit, and nothing is answered but 202",
  },
];

/**
 * "What is going on?" in one request: an HTTP API over the status handler, which reads the ledger
 * and starts manual runs. Every route is IAM (SigV4) authorized but `GET /health`, the two webhook
 * routes (their own function, throttle and authentication) and, when CORS origins are configured,
 * browser preflights (`OPTIONS /{proxy+}`); the `$default` route (IAM too) lets the handler answer
 * unknown paths and methods with problem+json.
 */
export function StatusApi({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const { table } = use(Ledger);
  const { stateMachine } = use(Pipelines);
  const provisioning = use(Provisioning);

  const handler = tapestryFunction(stack, "StatusApiHandler", deployment, {
    entry: "status-api",
    description: "answers the status API",
    environment: {
      TAPESTRY_LEDGER_TABLE: table.tableName,
      TAPESTRY_STATE_MACHINE_ARN: stateMachine.stateMachineArn,
      TAPESTRY_PROVISION_STATE_MACHINE_ARN: provisioning.stateMachine.stateMachineArn,
      TAPESTRY_DEPROVISION_STATE_MACHINE_ARN: provisioning.deprovisionStateMachine.stateMachineArn,
    },
    bundleConfig: true,
    // a queued run and a cancel request are recorded in the ledger at once, then put on the bus
    publishesEvents: true,
  });
  allow(
    handler,
    ["dynamodb:GetItem", "dynamodb:Query"],
    [table.tableArn, `${table.tableArn}/index/${LEDGER_TABLE.runsByPipelineIndex.name}`],
  );
  // recording an event: the event item, then the run's record; a queued run's place in the queue
  allow(handler, ["dynamodb:PutItem"], [table.tableArn]);
  allow(handler, ["states:StartExecution"], [stateMachine.stateMachineArn]);
  allowOnExecutions(handler, deployment, "states:StopExecution");
  // POST /provisioning takes the provisioning lock (and frees it when its execution cannot start)
  allow(handler, ["dynamodb:DeleteItem"], [table.tableArn]);
  allow(handler, ["states:StartExecution"], [provisioning.stateMachine.stateMachineArn]);
  // DELETE /provisioning: the same lock, then the deprovision state machine
  allow(handler, ["states:StartExecution"], [provisioning.deprovisionStateMachine.stateMachineArn]);
  // a run holding the provisioning lock whose execution has ended is closed, not waited for
  allowOnProvisionExecutions(handler, deployment, "states:DescribeExecution");

  const integration = new HttpLambdaIntegration("StatusApiIntegration", handler);
  const origins = deployment.aws.statusApi.corsAllowOrigins;
  const api = new HttpApi(stack, "Api", {
    apiName: `${deployment.prefix}-status`,
    description: `Tapestry ${deployment.stage}: pipeline status`,
    createDefaultStage: false,
    defaultAuthorizer: new HttpIamAuthorizer(),
    defaultIntegration: integration,
  });
  const [health] = api.addRoutes({
    path: "/health",
    methods: [HttpMethod.GET],
    integration,
    authorizer: new HttpNoneAuthorizer(),
  });
  if (health) {
    NagSuppressions.addResourceSuppressions(health, [
      {
        id: "AwsSolutions-APIG4",
        reason:
          "GET /health is open on purpose, for uptime checks that hold no AWS credentials; it answers a fixed liveness document and reads nothing (every other route, $default included, requires SigV4, but the two webhook routes, which authenticate the tools themselves)",
      },
    ]);
  }
  for (const route of STATUS_API_ROUTES) {
    api.addRoutes({ path: route.path, methods: [...route.methods], integration });
  }
  if (origins.length > 0) {
    // A browser's preflight carries no credentials, and $default (SigV4) would catch it and answer
    // 403. This route outranks $default and has no authorizer; the status handler answers it, per
    // path (functions/api/cors.ts). No corsPreflight on the API: with it, API Gateway would answer
    // every preflight itself and drop the handler's CORS headers from every answer (ADR 0012).
    const [preflight] = api.addRoutes({
      path: "/{proxy+}",
      methods: [HttpMethod.OPTIONS],
      integration,
      authorizer: new HttpNoneAuthorizer(),
    });
    if (preflight) {
      NagSuppressions.addResourceSuppressions(preflight, [
        {
          id: "AwsSolutions-APIG4",
          reason:
            "OPTIONS /{proxy+} exists only when CORS origins are configured, for browser preflights, which never carry credentials; it answers CORS headers and reads nothing (every other method still requires SigV4)",
        },
      ]);
    }
  }

  // The tools' completion webhooks: a function of their own (its role may answer task tokens and read
  // the tools' secrets, which the status handler's may not), on routes without SigV4.
  const receiver = tapestryFunction(stack, "WebhookReceiver", deployment, {
    entry: "webhook-receiver",
    description: "receives the tools' completion webhooks and completes the steps waiting for them",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName },
    bundleConfig: true,
    // StepSucceeded/StepFailed of the confirming poll
    publishesEvents: true,
    // answered within dbt Cloud's 10 s; the confirming poll is cut at 6 s
    timeout: Duration.seconds(15),
  });
  // it polls the job a webhook names: a step's connection name is resolved as the step functions do
  allowTaskTokens(receiver, table, deployment, [
    ...secretParameterArns(stack, deployment),
    ...namedConnectionParameterArns(stack, deployment),
  ]);
  const webhooks = new HttpLambdaIntegration("WebhookIntegration", receiver);
  const webhookRoutes: Construct[] = [];
  for (const route of WEBHOOK_ROUTES) {
    const [added] = api.addRoutes({
      path: route.path,
      methods: [HttpMethod.POST],
      integration: webhooks,
      authorizer: new HttpNoneAuthorizer(),
    });
    if (!added) continue;
    webhookRoutes.push(added);
    NagSuppressions.addResourceSuppressions(added, [{ id: "AwsSolutions-APIG4", reason: route.reason }]);
  }

  const accessLogs = new LogGroup(stack, "ApiAccessLogs", {
    retention: deployment.aws.logRetentionDays as RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stage = new HttpStage(stack, "ApiStage", {
    httpApi: api,
    stageName: "$default",
    autoDeploy: true,
    throttle: {
      rateLimit: deployment.aws.statusApi.throttleRateLimit,
      burstLimit: deployment.aws.statusApi.throttleBurstLimit,
    },
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: "$context.requestId",
          requestTime: "$context.requestTime",
          routeKey: "$context.routeKey",
          status: "$context.status",
          sourceIp: "$context.identity.sourceIp",
          caller: "$context.identity.caller",
          userArn: "$context.identity.userArn",
          responseLength: "$context.responseLength",
          integrationLatency: "$context.integrationLatency",
          integrationError: "$context.integrationErrorMessage",
          error: "$context.error.message",
        }),
      ),
    },
  });

  // the webhook routes' own throttle (route settings apply per route key, beside the stage's default;
  // the routes must exist before the stage names them)
  stage.node.addDependency(...webhookRoutes);
  (stage.node.defaultChild as CfnStage).addPropertyOverride(
    "RouteSettings",
    Object.fromEntries(
      WEBHOOK_ROUTES.map((route) => [
        `POST ${route.path}`,
        {
          ThrottlingRateLimit: WEBHOOK_THROTTLE.rateLimit,
          ThrottlingBurstLimit: WEBHOOK_THROTTLE.burstLimit,
        },
      ]),
    ),
  );

  stack.addOutputs({ StatusApiUrl: stage.url });
  return { api };
}
