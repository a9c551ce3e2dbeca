import type { CfnResource, StackName, SynthesizedApp } from "./synth";

/**
 * The only actions any role may use on Resource "*", and why AWS leaves no choice. The IAM test
 * fails on any other action granted on "*", so a new wildcard needs a line (and a reason) here.
 */
export const WILDCARD_RESOURCE_ACTIONS: Readonly<Record<string, string>> = {
  "xray:PutTraceSegments": "X-Ray tracing: segment uploads support no resource-level permissions",
  "xray:PutTelemetryRecords": "X-Ray tracing: telemetry uploads support no resource-level permissions",
  "xray:GetSamplingRules":
    "X-Ray tracing (state machine): sampling rules support no resource-level permissions",
  "xray:GetSamplingTargets":
    "X-Ray tracing (state machine): sampling targets support no resource-level permissions",
  "logs:CreateLogDelivery":
    "Step Functions logging: log deliveries are vended resources without ARNs, AWS documents Resource *",
  "logs:GetLogDelivery": "Step Functions logging: log deliveries are vended resources without ARNs",
  "logs:UpdateLogDelivery": "Step Functions logging: log deliveries are vended resources without ARNs",
  "logs:DeleteLogDelivery": "Step Functions logging: log deliveries are vended resources without ARNs",
  "logs:ListLogDeliveries":
    "Step Functions logging: listing deliveries supports no resource-level permissions",
  "logs:PutResourcePolicy":
    "Step Functions logging: the account's CloudWatch Logs resource policy is not a resource with an ARN",
  "logs:DescribeResourcePolicies":
    "Step Functions logging: describing resource policies supports no resource-level permissions",
  "logs:DescribeLogGroups":
    "Step Functions logging: DescribeLogGroups supports no resource-level permissions",
  "ec2:DescribeNetworkInterfaces":
    "Lambda in the tool network: DescribeNetworkInterfaces only works on Resource * (Lambda's VPC guide)",
  "ec2:DescribeSubnets": "Lambda in the tool network: DescribeSubnets supports no resource-level permissions",
};

export interface FoundResource {
  readonly id: string;
  readonly resource: CfnResource;
}

export function resourcesOf(app: SynthesizedApp, stack: StackName, type: string): FoundResource[] {
  const json = app.templates().find((t) => t.stack === stack)?.json;
  return Object.entries(json?.Resources ?? {})
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => ({ id, resource }));
}

export function functionsOf(app: SynthesizedApp, stack: StackName): FoundResource[] {
  return resourcesOf(app, stack, "AWS::Lambda::Function");
}

/** The logical id CDK gave the construct `constructId` (its id plus an 8-hex-digit hash). */
export function logicalIdOf(
  app: SynthesizedApp,
  stack: StackName,
  type: string,
  constructId: string,
): string {
  const matches = resourcesOf(app, stack, type).filter((r) =>
    new RegExp(`^${constructId}[0-9A-F]{8}$`).test(r.id),
  );
  if (matches.length !== 1 || !matches[0]) {
    throw new Error(`expected one ${type} ${constructId} in ${stack}, found ${matches.length}`);
  }
  return matches[0].id;
}

/**
 * A CloudFormation string value as text: `Fn::Join` pieces concatenated, `Fn::GetAtt [X, Arn]`
 * (and `Ref X`, for state machines) written as `resolveRef(X)`, pseudo parameters as `<name>`.
 */
export function resolveJoin(value: unknown, resolveRef: (logicalId: string) => string): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const node = value as Record<string, unknown>;
    const join = node["Fn::Join"];
    if (Array.isArray(join)) {
      const [separator, parts] = join as [string, unknown[]];
      return parts.map((part) => resolveJoin(part, resolveRef)).join(separator);
    }
    const getAtt = node["Fn::GetAtt"];
    if (Array.isArray(getAtt) && getAtt[1] === "Arn") return resolveRef(String(getAtt[0]));
    const ref = node.Ref;
    if (typeof ref === "string") {
      return ref.startsWith("AWS::") ? `<${ref.slice(5).toLowerCase()}>` : resolveRef(ref);
    }
    const imported = node["Fn::ImportValue"];
    if (typeof imported === "string") return `import:${imported}`;
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

export interface Statement {
  /** the logical id of the policy (`<Role>DefaultPolicy<hash>`) */
  readonly policyOf: string;
  readonly stack: StackName;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** Every Allow statement of every IAM policy (inline policies of roles too), resources resolved to text. */
export function iamStatementsOf(app: SynthesizedApp): Statement[] {
  const statements: Statement[] = [];
  const toList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
  for (const { stack, json } of app.templates()) {
    for (const [id, resource] of Object.entries(json.Resources)) {
      const documents: unknown[] = [];
      if (resource.Type === "AWS::IAM::Policy") documents.push(resource.Properties?.PolicyDocument);
      if (resource.Type === "AWS::IAM::Role") {
        for (const policy of toList(resource.Properties?.Policies ?? [])) {
          documents.push((policy as { PolicyDocument?: unknown }).PolicyDocument);
        }
      }
      for (const document of documents) {
        for (const raw of toList((document as { Statement?: unknown }).Statement ?? [])) {
          const statement = raw as { Effect: string; Action: unknown; Resource: unknown };
          if (statement.Effect !== "Allow") continue;
          statements.push({
            policyOf: id,
            stack,
            actions: toList(statement.Action).map(String),
            resources: toList(statement.Resource).map((r) => resolveJoin(r, (ref) => `arn-of:${ref}`)),
          });
        }
      }
    }
  }
  return statements;
}

/** A property the test needs the resource to have, typed as the test reads it; a clear failure when it is absent. */
export function propertyOf<T>(resource: CfnResource | undefined, name: string): T {
  const value = resource?.Properties?.[name];
  if (value === undefined)
    throw new Error(`expected property ${name} on ${resource?.Type ?? "a missing resource"}`);
  return value as T;
}
