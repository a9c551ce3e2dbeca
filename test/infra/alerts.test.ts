import { type PipelineSpec, parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { App as CdkApp, Stack as CdkStack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { GraphWidget } from "aws-cdk-lib/aws-cloudwatch";
import { beforeAll, describe, expect, it } from "vitest";
import { hostWidgets } from "../../stacks/alerts-dashboard";
import kickstart from "../../tapestry.config";
import { runAwsSolutionsChecks } from "./nag";
import { type SynthesizedApp, synthesize, TEST_ACCOUNT, TEST_REGION } from "./synth";
import { functionsOf, iamStatementsOf, logicalIdOf, resolveJoin, resourcesOf } from "./template-queries";

/**
 * The Alerts stack, synthesized offline for the kickstart config (stage "alerts") and for one with
 * every threshold, e-mail and Slack set (stage "alertsall"): both stages belong to this file alone
 * (see stacks.test.ts on bundles). Expected figures are written out here, not derived from the
 * code under test.
 */

const KICKSTART = parseConfig(structuredClone(kickstart), "tapestry.config.ts");
const kickstartPipeline = KICKSTART.pipelines[0] as PipelineSpec;

/** Two pipelines: one with every threshold, one that watches nothing but its floors. */
const EVERY: TapestryConfig = parseConfig({
  ...structuredClone(kickstart),
  alerts: {
    email: ["data-oncall@rain-shield.example", "lead@rain-shield.example"],
    slack: { webhookUrlSecret: "SLACK_WEBHOOK_URL" },
  },
  pipelines: [
    {
      ...kickstartPipeline,
      alerts: { onFailure: true, maxDurationMinutes: 90, maxStaleMinutes: 2000 },
      stages: kickstartPipeline.stages.map((stage) => ({
        ...stage,
        steps: stage.steps.map((step) =>
          step.name === "zoom-webinar-registrants" ? { ...step, rowsAnomaly: { stdDevs: 3 } } : step,
        ),
      })),
    },
    {
      ...kickstartPipeline,
      name: "quiet-audience",
      description: undefined,
      alerts: { onFailure: false, maxStaleMinutes: false },
      stages: [
        {
          name: "ingest",
          steps: [{ ...(kickstartPipeline.stages[0]?.steps[0] ?? {}), minRows: undefined } as never],
        },
      ],
    },
  ],
});

let kick: SynthesizedApp;
let every: SynthesizedApp;

beforeAll(async () => {
  kick = await synthesize(KICKSTART, "alerts");
  kick.templates();
  every = await synthesize(EVERY, "alertsall");
  every.templates();
}, 240_000);

const alarmsOf = (app: SynthesizedApp) =>
  resourcesOf(app, "Alerts", "AWS::CloudWatch::Alarm").map((r) => r.resource.Properties ?? {});
const alarmNamed = (app: SynthesizedApp, name: string) => {
  const found = alarmsOf(app).filter((a) => a.AlarmName === name);
  expect(found, name).toHaveLength(1);
  return found[0] ?? {};
};

/** What a static threshold alarm is made of, as CloudFormation states it. */
function staticAlarm(fields: {
  metric: string;
  dimensions: Record<string, string>;
  statistic: string;
  period: number;
  threshold: number;
  comparison: string;
  missing: string;
  evaluationPeriods?: number;
}) {
  return {
    Namespace: "Tapestry",
    MetricName: fields.metric,
    Dimensions: Object.entries(fields.dimensions).map(([Name, Value]) => ({ Name, Value })),
    Statistic: fields.statistic,
    Period: fields.period,
    EvaluationPeriods: fields.evaluationPeriods ?? 1,
    DatapointsToAlarm: fields.evaluationPeriods ?? 1,
    Threshold: fields.threshold,
    ComparisonOperator: fields.comparison,
    TreatMissingData: fields.missing,
  };
}

describe("threshold alarms: the kickstart config", () => {
  const pipeline = "rain-shield-audience";
  const name = (rule: string) => `tapestry-alerts-${pipeline}-${rule}`;

  it("alarms on any failed run: RunFailed's maximum of the minute at 1 or more, keeping its state between runs", () => {
    expect(alarmNamed(kick, name("run-failed"))).toMatchObject(
      staticAlarm({
        metric: "RunFailed",
        dimensions: { Pipeline: pipeline },
        statistic: "Maximum",
        period: 60,
        threshold: 1,
        comparison: "GreaterThanOrEqualToThreshold",
        missing: "ignore",
      }),
    );
  });

  it("alarms on each step's minRows: RowsSynced's minimum below the floor, per step", () => {
    for (const step of ["zoom-webinar-registrants", "salesforce-contacts", "mailchimp-audience"]) {
      expect(alarmNamed(kick, name(`rows-below-minimum-${step}`))).toMatchObject(
        staticAlarm({
          metric: "RowsSynced",
          dimensions: { Pipeline: pipeline, Step: step },
          statistic: "Minimum",
          period: 60,
          threshold: 1,
          comparison: "LessThanThreshold",
          missing: "ignore",
        }),
      );
    }
  });

  it("alarms on staleness at twice the schedule's longest gap (daily in New York: 25 h once a year), treating silence as a breach", () => {
    expect(alarmNamed(kick, name("stale"))).toMatchObject(
      staticAlarm({
        metric: "MinutesSinceLastSuccess",
        dimensions: { Pipeline: pipeline },
        statistic: "Maximum",
        period: 600,
        threshold: 3000,
        comparison: "GreaterThanThreshold",
        missing: "breaching",
      }),
    );
  });

  it("has no duration or anomaly alarm where the config sets none, and no threshold alarm notifies by itself", () => {
    const names = alarmsOf(kick).map((a) => String(a.AlarmName));
    expect(names.filter((n) => n.startsWith(`tapestry-alerts-${pipeline}-`)).sort()).toEqual(
      [
        name("run-failed"),
        name("rows-below-minimum-mailchimp-audience"),
        name("rows-below-minimum-salesforce-contacts"),
        name("rows-below-minimum-zoom-webinar-registrants"),
        name("stale"),
      ].sort(),
    );
    for (const alarm of alarmsOf(kick).filter((a) =>
      String(a.AlarmName).startsWith(`tapestry-alerts-${pipeline}-`),
    )) {
      expect(alarm.AlarmActions, String(alarm.AlarmName)).toBeUndefined();
      expect(alarm.AlarmDescription, String(alarm.AlarmName)).toMatch(
        /Missing data: (ignore|breaching): .{40,}/,
      );
    }
  });
});

describe("threshold alarms: every threshold set", () => {
  const name = (rule: string) => `tapestry-alertsall-rain-shield-audience-${rule}`;

  it("alarms on a run longer than maxDurationMinutes: RunDurationSeconds' maximum above 90 min", () => {
    expect(alarmNamed(every, name("run-too-long"))).toMatchObject(
      staticAlarm({
        metric: "RunDurationSeconds",
        dimensions: { Pipeline: "rain-shield-audience" },
        statistic: "Maximum",
        period: 60,
        threshold: 5400,
        comparison: "GreaterThanThreshold",
        missing: "ignore",
      }),
    );
    expect(alarmNamed(every, name("stale"))).toMatchObject({
      Threshold: 2000,
      TreatMissingData: "breaching",
    });
  });

  it("alarms on rows far below their history with an anomaly band of 3 standard deviations, below its lower bound only", () => {
    expect(alarmNamed(every, name("rows-anomaly-zoom-webinar-registrants"))).toEqual(
      expect.objectContaining({
        ComparisonOperator: "LessThanLowerThreshold",
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: "ignore",
        ThresholdMetricId: "expr_1",
        Metrics: expect.arrayContaining([
          expect.objectContaining({
            Expression: "ANOMALY_DETECTION_BAND(m0, 3)",
            Id: "expr_1",
          }),
          expect.objectContaining({
            Id: "m0",
            MetricStat: {
              Metric: {
                Namespace: "Tapestry",
                MetricName: "RowsSynced",
                Dimensions: [
                  { Name: "Pipeline", Value: "rain-shield-audience" },
                  { Name: "Step", Value: "zoom-webinar-registrants" },
                ],
              },
              Period: 3600,
              Stat: "Minimum",
            },
          }),
        ]),
      }),
    );
  });

  it("leaves out what a pipeline turns off: no failed-run or stale alarm, and no composite without alarms", () => {
    expect(
      alarmsOf(every).filter((a) => String(a.AlarmName).startsWith("tapestry-alertsall-quiet-audience")),
    ).toEqual([]);
    const composites = resourcesOf(every, "Alerts", "AWS::CloudWatch::CompositeAlarm").map(
      (r) => r.resource.Properties?.AlarmName,
    );
    expect(composites).toEqual(["tapestry-alertsall-rain-shield-audience-degraded"]);
  });
});

describe("the composite 'pipeline degraded' alarm", () => {
  it("is in ALARM while any of the pipeline's threshold alarms is, and tells the topic when it goes into ALARM and back to OK", () => {
    const [composite] = resourcesOf(kick, "Alerts", "AWS::CloudWatch::CompositeAlarm");
    const props = composite?.resource.Properties ?? {};
    const topic = logicalIdOf(kick, "Alerts", "AWS::SNS::Topic", "AlertsTopic");
    expect(props.AlarmName).toBe("tapestry-alerts-rain-shield-audience-degraded");
    expect(props.AlarmActions).toEqual([{ Ref: topic }]);
    expect(props.OKActions).toEqual([{ Ref: topic }]);
    const rule = resolveJoin(props.AlarmRule, (ref) => {
      const alarm = resourcesOf(kick, "Alerts", "AWS::CloudWatch::Alarm").find((r) => r.id === ref);
      return String(alarm?.resource.Properties?.AlarmName);
    });
    const members = [...rule.matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(members.sort()).toEqual(
      [
        "run-failed",
        "rows-below-minimum-mailchimp-audience",
        "rows-below-minimum-salesforce-contacts",
        "rows-below-minimum-zoom-webinar-registrants",
        "stale",
      ]
        .map((r) => `tapestry-alerts-rain-shield-audience-${r}`)
        .sort(),
    );
    expect(rule.split(" OR ")).toHaveLength(5);
  });
});

describe("notifications", () => {
  it("go to an SNS topic encrypted with a rotated KMS key that CloudWatch alarms may use, TLS only", () => {
    const alerts = kick.template("Alerts");
    const key = logicalIdOf(kick, "Alerts", "AWS::KMS::Key", "AlertsKey");
    alerts.hasResourceProperties("AWS::SNS::Topic", {
      TopicName: "tapestry-alerts-alerts",
      KmsMasterKeyId: { "Fn::GetAtt": [key, "Arn"] },
    });
    alerts.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Condition: { StringEquals: { "aws:SourceAccount": TEST_ACCOUNT } },
          }),
        ]),
      },
    });
    alerts.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
          }),
        ]),
      },
    });
  });

  it("subscribe each configured e-mail address, and none by default", () => {
    expect(resourcesOf(kick, "Alerts", "AWS::SNS::Subscription")).toEqual([]);
    expect(
      resourcesOf(every, "Alerts", "AWS::SNS::Subscription").map((s) => [
        s.resource.Properties?.Protocol,
        s.resource.Properties?.Endpoint,
      ]),
    ).toEqual([
      ["email", "data-oncall@rain-shield.example"],
      ["email", "lead@rain-shield.example"],
    ]);
  });

  it("reach Slack only when a webhook is configured: the notifier reads exactly its SSM parameter and keeps what it sent in the ledger's table", () => {
    expect(
      functionsOf(kick, "Alerts")
        .map((f) => f.id.replace(/[0-9A-F]{8}$/, ""))
        .sort(),
    ).toEqual(["CheckFreshness", "EvaluateAlerts", "RecordMetrics"]);
    const notifier = functionsOf(every, "Alerts").find((f) => f.id.startsWith("NotifySlack"));
    expect(notifier?.resource.Properties?.Environment).toEqual({
      Variables: expect.objectContaining({
        TAPESTRY_LEDGER_TABLE: expect.anything(),
        TAPESTRY_STATUS_API_URL: expect.anything(),
      }),
    });
    expect(JSON.stringify(notifier?.resource.Properties?.Environment)).not.toContain("SLACK_WEBHOOK_URL");
    const grants = iamStatementsOf(every).filter((s) => s.policyOf.startsWith("NotifySlackRole"));
    expect(grants.flatMap((g) => g.actions).sort()).toEqual(
      [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
        "ssm:GetParameter",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
      ].sort(),
    );
    expect(grants.find((g) => g.actions.includes("ssm:GetParameter"))?.resources).toEqual([
      `arn:<partition>:ssm:${TEST_REGION}:${TEST_ACCOUNT}:parameter/tapestry/alertsall/SLACK_WEBHOOK_URL`,
    ]);
  });

  it("route incidents and the health alarms' changes to the notifier, with retries and its dead-letter queue", () => {
    const rules = resourcesOf(every, "Alerts", "AWS::Events::Rule");
    const pattern = (prefix: string) =>
      rules.find((r) => r.id.startsWith(prefix))?.resource.Properties?.EventPattern;
    expect(pattern("NotifyIncidents")).toEqual({
      source: ["tapestry.pipeline"],
      "detail-type": ["ThresholdBreached", "ThresholdRecovered"],
    });
    expect(pattern("NotifyHealthAlarms")).toEqual({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      detail: { alarmName: [{ prefix: "tapestry-alertsall-health-" }] },
    });
    expect(pattern("EvaluateAnomalyAlarms")).toEqual({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      detail: {
        alarmName: ["tapestry-alertsall-rain-shield-audience-rows-anomaly-zoom-webinar-registrants"],
      },
    });
    const queue = logicalIdOf(every, "Alerts", "AWS::SQS::Queue", "NotifierDeadLetters");
    for (const prefix of ["NotifyIncidents", "NotifyHealthAlarms"]) {
      const rule = rules.find((r) => r.id.startsWith(prefix))?.resource;
      expect(rule?.Properties?.Targets).toEqual([
        expect.objectContaining({
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ]);
    }
    const notifier = functionsOf(every, "Alerts").find((f) => f.id.startsWith("NotifySlack"));
    expect(notifier?.resource.Properties?.DeadLetterConfig).toEqual({
      TargetArn: { "Fn::GetAtt": [queue, "Arn"] },
    });
  });
});

describe("metrics and the freshness check", () => {
  it("records metrics from the runs' and steps' ends and skipped runs on the bus", () => {
    const rule = resourcesOf(kick, "Alerts", "AWS::Events::Rule").find((r) =>
      r.id.startsWith("RecordMetricsOfEvents"),
    );
    expect(rule?.resource.Properties?.EventPattern).toEqual({
      source: ["tapestry.pipeline"],
      "detail-type": [
        "PipelineRunSucceeded",
        "PipelineRunFailed",
        "PipelineRunSkipped",
        "StepSucceeded",
        "StepFailed",
      ],
    });
    const evaluate = resourcesOf(kick, "Alerts", "AWS::Events::Rule").find((r) =>
      r.id.startsWith("EvaluateRunEnds"),
    );
    expect(evaluate?.resource.Properties?.EventPattern).toEqual({
      source: ["tapestry.pipeline"],
      "detail-type": ["PipelineRunSucceeded", "PipelineRunFailed"],
    });
  });

  it("checks freshness every 5 minutes from EventBridge Scheduler, in the stage's schedule group, with a dead-letter queue", () => {
    const fn = logicalIdOf(kick, "Alerts", "AWS::Lambda::Function", "CheckFreshness");
    const queue = logicalIdOf(kick, "Alerts", "AWS::SQS::Queue", "FreshnessDeadLetters");
    kick.template("Alerts").hasResourceProperties("AWS::Scheduler::Schedule", {
      Name: "freshness-check",
      GroupName: "tapestry-alerts",
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Target: {
        Arn: { "Fn::GetAtt": [fn, "Arn"] },
        RoleArn: Match.anyValue(),
        Input: JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>" }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 240 },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [queue, "Arn"] } },
      },
    });
    const scheduler = iamStatementsOf(kick).filter((s) => s.policyOf.startsWith("FreshnessSchedulerRole"));
    expect(scheduler.flatMap((s) => s.actions).sort()).toEqual(["lambda:InvokeFunction", "sqs:SendMessage"]);
  });
});

describe("control-plane health alarms", () => {
  const functionIds = (app: SynthesizedApp) =>
    app
      .templates()
      .flatMap(({ stack }) => functionsOf(app, stack))
      .map((f) => f.id.replace(/[0-9A-F]{8}$/, ""));

  it("watch every function's errors and throttles (15 minutes in a row), and tell the topic", () => {
    const kebab = (id: string) => id.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
    for (const app of [kick, every]) {
      const stage = app === kick ? "alerts" : "alertsall";
      const topic = logicalIdOf(app, "Alerts", "AWS::SNS::Topic", "AlertsTopic");
      for (const id of functionIds(app)) {
        for (const metric of ["Errors", "Throttles"]) {
          expect(
            alarmNamed(app, `tapestry-${stage}-health-${kebab(id)}-${metric.toLowerCase()}`),
          ).toMatchObject({
            Namespace: "AWS/Lambda",
            MetricName: metric,
            Statistic: "Sum",
            Period: 300,
            EvaluationPeriods: 3,
            DatapointsToAlarm: 3,
            Threshold: 1,
            ComparisonOperator: "GreaterThanOrEqualToThreshold",
            TreatMissingData: "notBreaching",
            AlarmActions: [{ Ref: topic }],
            OKActions: [{ Ref: topic }],
          });
        }
      }
    }
  });

  it("watch every dead-letter queue: the schedules', the projector's, the reconciler's, the alert functions' and the notifier's", () => {
    const queueAlarms = alarmsOf(every).filter((a) => a.MetricName === "ApproximateNumberOfMessagesVisible");
    expect(queueAlarms.map((a) => a.AlarmName).sort()).toEqual(
      [
        "alert-evaluator-dead-letters",
        "freshness-dead-letters",
        "metrics-dead-letters",
        "notifier-dead-letters",
        "projector-dead-letters",
        "reconciler-dead-letters",
        "schedule-dead-letters",
      ].map((q) => `tapestry-alertsall-health-${q}`),
    );
    for (const alarm of queueAlarms) {
      expect(alarm).toMatchObject({
        Namespace: "AWS/SQS",
        Statistic: "Maximum",
        Period: 300,
        Threshold: 1,
        TreatMissingData: "notBreaching",
        AlarmActions: [expect.anything()],
      });
    }
    expect(queueAlarms).toHaveLength(resourcesOf(every, "Alerts", "AWS::SQS::Queue").length + 3);
  });

  it("watch the state machine: throttling tells the topic; failed, timed-out and aborted executions show on the dashboard (each run is reported per pipeline)", () => {
    const sm = alarmsOf(kick).filter(
      (a) => a.Namespace === "AWS/States" && !/-(de)?provision-/.test(String(a.AlarmName)),
    );
    expect(
      sm.map((a) => [a.AlarmName, a.MetricName, a.AlarmActions === undefined ? "quiet" : "notifies"]),
    ).toEqual([
      ["tapestry-alerts-executions-failed", "ExecutionsFailed", "quiet"],
      ["tapestry-alerts-executions-timed-out", "ExecutionsTimedOut", "quiet"],
      ["tapestry-alerts-executions-aborted", "ExecutionsAborted", "quiet"],
      ["tapestry-alerts-health-executions-throttled", "ExecutionThrottled", "notifies"],
    ]);
    for (const alarm of sm) {
      expect(alarm).toMatchObject({
        Statistic: "Sum",
        Period: 300,
        Threshold: 1,
        TreatMissingData: "notBreaching",
      });
    }
  });
});

describe("a failed provisioning run", () => {
  it("notifies: the provision and deprovision state machines' failed, timed-out and stopped executions each tell the topic (no per-pipeline rule reports them)", () => {
    const provisionArn = (a: { Dimensions?: { Value: unknown }[] }) => JSON.stringify(a.Dimensions ?? []);
    const provisioning = alarmsOf(kick).filter(
      (a) => a.Namespace === "AWS/States" && /-(de)?provision-/.test(String(a.AlarmName)),
    );
    expect(
      provisioning.map((a) => [
        a.AlarmName,
        a.MetricName,
        a.AlarmActions === undefined ? "quiet" : "notifies",
      ]),
    ).toEqual([
      ["tapestry-alerts-health-provision-failed", "ExecutionsFailed", "notifies"],
      ["tapestry-alerts-health-provision-timed-out", "ExecutionsTimedOut", "notifies"],
      ["tapestry-alerts-health-provision-aborted", "ExecutionsAborted", "notifies"],
      ["tapestry-alerts-health-deprovision-failed", "ExecutionsFailed", "notifies"],
      ["tapestry-alerts-health-deprovision-timed-out", "ExecutionsTimedOut", "notifies"],
      ["tapestry-alerts-health-deprovision-aborted", "ExecutionsAborted", "notifies"],
    ]);
    for (const alarm of provisioning) {
      expect(alarm).toMatchObject({
        Statistic: "Sum",
        Period: 300,
        Threshold: 1,
        TreatMissingData: "notBreaching",
      });
      // the provisioning state machines', not the pipeline-run one's
      expect(provisionArn(alarm)).toMatch(/Provision|Deprovision/);
      expect(String(alarm.AlarmDescription)).toMatch(/GET \/provisioning.*re-run resumes/);
    }
  });
});

describe("the dashboard", () => {
  const body = (app: SynthesizedApp) => {
    const [dashboard] = resourcesOf(app, "Alerts", "AWS::CloudWatch::Dashboard");
    const text = joinedText(dashboard?.resource.Properties?.DashboardBody);
    return JSON.parse(text) as {
      widgets: { properties: { title?: string; markdown?: string; metrics?: unknown[] } }[];
    };
  };

  it("shows per pipeline its runs, failures, durations, rows per step, freshness and alarms, then the control plane", () => {
    const { widgets } = body(kick);
    const titles = widgets.map((w) => w.properties.title ?? w.properties.markdown);
    expect(titles).toEqual([
      "## rain-shield-audience",
      "rain-shield-audience: runs",
      "rain-shield-audience: run duration (s)",
      "rain-shield-audience: rows per step",
      "rain-shield-audience: minutes since the last success",
      "rain-shield-audience: alarms",
      "## Control plane",
      "pipeline-run executions",
      "function errors",
      "dead-letter queues (messages waiting)",
    ]);
    const rows = widgets.find((w) => w.properties.title === "rain-shield-audience: rows per step");
    expect(JSON.stringify(rows?.properties.metrics)).toContain(
      '"RowsSynced","Pipeline","rain-shield-audience","Step","email-model"',
    );
    const runs = widgets.find((w) => w.properties.title === "rain-shield-audience: runs");
    expect(JSON.stringify(runs?.properties.metrics)).toMatch(/RunFailed.*RunSkipped/);
  });

  it("leaves out the tool hosts' widgets: this deployment has no self-hosted tool stacks", () => {
    const text = JSON.stringify(body(kick));
    expect(text).not.toMatch(/Tool hosts|CPUUtilization|CWAgent|AWS\/ECS/);
  });

  it("shows a host's widgets once it exists: the Airbyte host's CPU, memory and disk, the Grouparoo services' CPU and memory", () => {
    expect(hostWidgets({})).toEqual([]);
    const stack = new CdkStack(new CdkApp(), "Probe");
    const rows = hostWidgets({
      airbyteHost: { toolHost: "tapestry-prod-airbyte" },
      grouparoo: { clusterName: "tapestry-prod-grouparoo", serviceNames: ["web", "worker"] },
    });
    const graphs = rows.flat().filter((w): w is GraphWidget => w instanceof GraphWidget);
    const rendered = graphs.map((g) => stack.resolve(g.toJson()));
    const json = JSON.stringify(rendered);
    expect(json).toContain("Airbyte host: CPU, memory, disk (%)");
    // the agent's metrics rolled up by ToolHost: known at deploy time, before the instance exists
    for (const metric of ["cpu_usage_active", "mem_used_percent", "disk_used_percent"]) {
      expect(json).toContain(`"CWAgent","${metric}","ToolHost","tapestry-prod-airbyte"`);
    }
    expect(json).toContain(
      '"AWS/ECS","CPUUtilization","ClusterName","tapestry-prod-grouparoo","ServiceName","worker"',
    );
    expect(json).toContain(
      '"AWS/ECS","MemoryUtilization","ClusterName","tapestry-prod-grouparoo","ServiceName","web"',
    );
    expect(hostWidgets({ grouparoo: { clusterName: "c", serviceNames: [] } })).toEqual([]);
  });
});

describe("cdk-nag AwsSolutions on the Alerts stack", () => {
  it("finds nothing unsuppressed, for the kickstart and for every threshold, e-mail and Slack", () => {
    for (const app of [kick, every]) {
      const findings = runAwsSolutionsChecks(app);
      expect(findings.unsuppressed).toEqual([]);
      expect(findings.ruleErrors).toEqual([]);
      const alerts = findings.suppressed.filter((s) => s.path.includes("-Alerts/"));
      expect(alerts.length).toBeGreaterThan(0);
      // only the X-Ray wildcard every function carries
      expect(new Set(alerts.map((s) => s.ruleId))).toEqual(new Set(["AwsSolutions-IAM5"]));
    }
  });
});

/** A CloudFormation string as text: Fn::Join concatenated, any other intrinsic (a reference, an import) as "<ref>". */
function joinedText(value: unknown): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] } | undefined)?.["Fn::Join"];
  if (join) return join[1].map(joinedText).join(join[0]);
  return "<ref>";
}
