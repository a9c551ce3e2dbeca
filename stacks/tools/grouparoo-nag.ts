import type { ISecurityGroup } from "aws-cdk-lib/aws-ec2";
import type { FargateTaskDefinition } from "aws-cdk-lib/aws-ecs";
import type { CfnReplicationGroup } from "aws-cdk-lib/aws-elasticache";
import type { DatabaseInstance } from "aws-cdk-lib/aws-rds";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { NagSuppressions } from "cdk-nag";

const NO_ROTATION =
  "Rotation needs a rotation Lambda (not allowed in a tool stack that deploys from its template alone) and Grouparoo reads the credential only at start; rotate by re-creating the secret and a new deployment";

export interface GrouparooNagSubjects {
  readonly accessLogs: IBucket;
  readonly database: DatabaseInstance;
  readonly secrets: readonly Secret[];
  readonly tasks: readonly FargateTaskDefinition[];
  readonly redis: CfnReplicationGroup;
  readonly loadBalancerSecurityGroup: ISecurityGroup;
  /** the config sets allowPublicInternet with 0.0.0.0/0 or ::/0 */
  readonly opensToInternet: boolean;
}

/**
 * The cdk-nag AwsSolutions findings the Grouparoo stack answers by design, each with its reason
 * (docs/self-hosting.md lists them; test/infra/tools-grouparoo.test.ts pins the set).
 */
export function suppressGrouparooFindings(s: GrouparooNagSubjects): void {
  NagSuppressions.addResourceSuppressions(s.accessLogs, [
    {
      id: "AwsSolutions-S1",
      reason: "The bucket holds the load balancer's access logs: logging its own reads would log the logs",
    },
  ]);
  NagSuppressions.addResourceSuppressions(
    s.database,
    [
      {
        id: "AwsSolutions-RDS3",
        reason:
          "Multi-AZ follows provisioning.grouparooService.database.multiAz (off by default: Grouparoo's state is rebuilt from the warehouse; automated backups and a final snapshot keep it)",
      },
      {
        id: "AwsSolutions-RDS10",
        reason:
          "Deleted only with its stack (teardown, or the recreate of a stack that rolled back), which takes a final snapshot first (DeletionPolicy Snapshot); deletion protection would fail those deletes with DELETE_FAILED and leave the stack stuck",
      },
      { id: "AwsSolutions-SMG4", reason: NO_ROTATION },
    ],
    true,
  );
  for (const secret of s.secrets) {
    NagSuppressions.addResourceSuppressions(secret, [{ id: "AwsSolutions-SMG4", reason: NO_ROTATION }]);
  }
  for (const task of s.tasks) {
    NagSuppressions.addResourceSuppressions(
      task,
      [
        {
          id: "AwsSolutions-ECS2",
          reason:
            "The environment holds no secret (ports, URLs without credentials, flags, the config bucket's name); every credential comes through ECS secrets (test/infra/tools-grouparoo.test.ts checks it)",
        },
        {
          id: "AwsSolutions-IAM5",
          reason:
            "The config copier reads every file under the bucket's grouparoo/ prefix (their names follow the config's ids); ECS's secret reads are scoped to the named secrets",
          appliesTo: [
            { regex: "/^Resource::arn:<AWS::Partition>:s3:::<GrouparooConfigBucket>/grouparoo/\\*$/g" },
          ],
        },
      ],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(s.redis, [
    {
      id: "AwsSolutions-AEC4",
      reason:
        "One node: Redis holds only Grouparoo's job queues and cache, which it refills; a failed node is replaced by ElastiCache",
    },
  ]);
  NagSuppressions.addResourceSuppressions(s.loadBalancerSecurityGroup, [
    {
      id: "CdkNagValidationFailure",
      reason:
        "EC23 cannot read the ControlPlaneEgressCidrs parameter's values; the parameter's AllowedPattern makes CloudFormation refuse any value wider than /8 (so never 0.0.0.0/0)",
      appliesTo: ["AwsSolutions-EC23"],
    },
  ]);
  if (s.opensToInternet) {
    NagSuppressions.addResourceSuppressions(s.loadBalancerSecurityGroup, [
      {
        id: "AwsSolutions-EC23",
        reason: "The config sets allowPublicInternet: true with 0.0.0.0/0 in allowedCidrs",
      },
    ]);
  }
}
