import type { CfnInstance, SecurityGroup } from "aws-cdk-lib/aws-ec2";
import type { Role } from "aws-cdk-lib/aws-iam";
import type { Bucket } from "aws-cdk-lib/aws-s3";
import { NagSuppressions } from "cdk-nag";

/** Every cdk-nag AwsSolutions finding this stack accepts, each with its reason (docs/self-hosting.md lists them). */
export function suppressAirbyteNagFindings(parts: {
  readonly role: Role;
  readonly accessLogs: Bucket;
  readonly albSecurityGroup: SecurityGroup;
  readonly instance: CfnInstance;
  readonly allowPublicInternet: boolean;
}): void {
  NagSuppressions.addResourceSuppressions(parts.role, [
    {
      id: "AwsSolutions-IAM4",
      reason:
        "AmazonSSMManagedInstanceCore is AWS's maintained policy for Session Manager, the only way onto the host (no SSH)",
      appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"],
    },
  ]);
  NagSuppressions.addResourceSuppressions(
    parts.role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Airbyte reads and writes objects of any key in its own bucket (logs, state, workload output): the wildcard is the objects of that one bucket",
        appliesTo: [
          "Action::s3:GetObject*",
          "Action::s3:GetBucket*",
          "Action::s3:List*",
          "Action::s3:DeleteObject*",
          "Action::s3:Abort*",
          { regex: "/^Resource::<Storage[0-9A-F]{8}\\.Arn>\\/\\*$/" },
        ],
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "cloudwatch:PutMetricData supports no resource-level permissions; the statement is limited to the CWAgent namespace by condition",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(parts.accessLogs, [
    {
      id: "AwsSolutions-S1",
      reason:
        "this bucket receives the access logs (ALB and the storage bucket's); logging it into itself would loop",
    },
  ]);
  NagSuppressions.addResourceSuppressions(parts.instance, [
    {
      id: "AwsSolutions-EC29",
      reason:
        "termination protection would make teardown (DELETE /provisioning) and a host replacement fail; Airbyte's logs and state are in the retained bucket, and Tapestry re-ensures its Airbyte objects by name on a new host",
    },
  ]);
  NagSuppressions.addResourceSuppressions(parts.albSecurityGroup, [
    {
      id: "CdkNagValidationFailure",
      reason:
        "EC23 cannot read CIDRs selected from the ControlPlaneEgressCidrs parameter (the NAT gateways' /32s); test/infra/tools-airbyte.test.ts asserts no 0.0.0.0/0 rule unless allowPublicInternet",
      appliesTo: ["AwsSolutions-EC23"],
    },
  ]);
  if (parts.allowPublicInternet) {
    NagSuppressions.addResourceSuppressions(parts.albSecurityGroup, [
      {
        id: "AwsSolutions-EC23",
        reason:
          "provisioning.allowPublicInternet is true: the user chose to open the load balancer to 0.0.0.0/0",
      },
    ]);
  }
}
