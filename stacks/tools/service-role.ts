import { ArnFormat, Stack } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import type { Deployment } from "../deployment";

/**
 * The CloudFormation service role the tool stacks are deployed with (CreateStack's RoleARN): what
 * creating, updating and deleting the Airbyte host (EC2, its launch template and instance profile,
 * an ALB, a bucket) and the Grouparoo service (ECS on Fargate, RDS, ElastiCache, Secrets Manager,
 * an ALB) takes, and nothing of the control plane. Only CloudFormation may assume it; only the
 * tool-stack function may pass it (`grantDeploy`). IAM and S3 are limited to the names
 * CloudFormation gives the stacks' roles, instance profiles and buckets (`tapestry-<stage>-*`);
 * the services whose resources get ids only when created (instances, security groups, load
 * balancers, clusters, databases) are granted by action on their resource type (cdk-nag IAM5,
 * each suppressed below with its reason).
 */
export function toolStacksServiceRole(scope: Construct, deployment: Deployment): Role {
  const stack = Stack.of(scope);
  const prefix = deployment.prefix;
  // log-group:<name> and alarm:<name>
  const arn = (service: string, resource: string, resourceName: string) =>
    stack.formatArn({ service, resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const role = new Role(scope, "ToolStacksServiceRole", {
    assumedBy: new ServicePrincipal("cloudformation.amazonaws.com"),
    description: `Tapestry ${deployment.stage}: CloudFormation deploys the self-hosted tools' stacks with this role`,
  });
  const statements: PolicyStatement[] = [
    // the host, its security groups, launch template and tags (ids known only once created)
    new PolicyStatement({
      actions: [
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeImages",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeTags",
        "ec2:DescribeVolumes",
        "ec2:CreateSecurityGroup",
        "ec2:DeleteSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
        "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateLaunchTemplateVersion",
        "ec2:ModifyLaunchTemplate",
        "ec2:DeleteLaunchTemplate",
        "ec2:DeleteLaunchTemplateVersions",
        "ec2:GetLaunchTemplateData",
        "ec2:RunInstances",
        "ec2:TerminateInstances",
        "ec2:StartInstances",
        "ec2:StopInstances",
        "ec2:ModifyInstanceAttribute",
        "ec2:ModifyInstanceMetadataOptions",
        "ec2:MonitorInstances",
        "ec2:UnmonitorInstances",
        "ec2:AssociateIamInstanceProfile",
        "ec2:DisassociateIamInstanceProfile",
        "ec2:ReplaceIamInstanceProfileAssociation",
        "ec2:CreateTags",
        "ec2:DeleteTags",
      ],
      resources: ["*"],
    }),
    // the load balancers, listeners, rules and target groups
    new PolicyStatement({
      actions: [
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:DeleteRule",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:SetRulePriorities",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
      ],
      resources: ["*"],
    }),
    // Grouparoo's cluster, task definitions and services
    new PolicyStatement({
      actions: [
        "ecs:CreateCluster",
        "ecs:DeleteCluster",
        "ecs:UpdateCluster",
        "ecs:UpdateClusterSettings",
        "ecs:PutClusterCapacityProviders",
        "ecs:DescribeClusters",
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:CreateService",
        "ecs:UpdateService",
        "ecs:DeleteService",
        "ecs:DescribeServices",
        "ecs:TagResource",
        "ecs:UntagResource",
        "ecs:ListTagsForResource",
      ],
      resources: ["*"],
    }),
    // Grouparoo's Postgres: instance, subnet and parameter groups, the final snapshot on delete
    new PolicyStatement({
      actions: [
        "rds:CreateDBInstance",
        "rds:ModifyDBInstance",
        "rds:DeleteDBInstance",
        "rds:DescribeDBInstances",
        "rds:CreateDBSubnetGroup",
        "rds:ModifyDBSubnetGroup",
        "rds:DeleteDBSubnetGroup",
        "rds:DescribeDBSubnetGroups",
        "rds:CreateDBParameterGroup",
        "rds:ModifyDBParameterGroup",
        "rds:DeleteDBParameterGroup",
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:CreateDBSnapshot",
        "rds:DescribeDBSnapshots",
        "rds:DescribeDBEngineVersions",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
        "rds:ListTagsForResource",
      ],
      resources: ["*"],
    }),
    // Grouparoo's Redis: replication group and subnet group
    new PolicyStatement({
      actions: [
        "elasticache:CreateReplicationGroup",
        "elasticache:ModifyReplicationGroup",
        "elasticache:DeleteReplicationGroup",
        "elasticache:DescribeReplicationGroups",
        "elasticache:DescribeCacheClusters",
        "elasticache:CreateCacheSubnetGroup",
        "elasticache:ModifyCacheSubnetGroup",
        "elasticache:DeleteCacheSubnetGroup",
        "elasticache:DescribeCacheSubnetGroups",
        "elasticache:AddTagsToResource",
        "elasticache:RemoveTagsFromResource",
        "elasticache:ListTagsForResource",
      ],
      resources: ["*"],
    }),
    // generated credentials (database, Redis auth token, Grouparoo's server token), resolved by
    // dynamic reference; CloudFormation names these secrets after their logical ids, not the stack
    new PolicyStatement({
      actions: [
        "secretsmanager:CreateSecret",
        "secretsmanager:UpdateSecret",
        "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
      ],
      resources: ["*"],
    }),
    // the tools' log groups
    new PolicyStatement({
      actions: [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:DescribeLogGroups",
        "logs:TagResource",
        "logs:UntagResource",
        "logs:ListTagsForResource",
      ],
      resources: [arn("logs", "log-group", "*")],
    }),
    // the host's alarms (detailed monitoring, the CloudWatch agent's metrics)
    new PolicyStatement({
      actions: [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
      ],
      resources: [arn("cloudwatch", "alarm", "*")],
    }),
    // the roles and instance profiles of the host and the tasks: only those named after the stacks
    new PolicyStatement({
      actions: [
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:PassRole",
      ],
      resources: [
        stack.formatArn({ service: "iam", region: "", resource: "role", resourceName: `${prefix}-*` }),
      ],
    }),
    new PolicyStatement({
      actions: [
        "iam:CreateInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:GetInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:TagInstanceProfile",
        "iam:UntagInstanceProfile",
      ],
      resources: [
        stack.formatArn({
          service: "iam",
          region: "",
          resource: "instance-profile",
          resourceName: `${prefix}-*`,
        }),
      ],
    }),
    // the first ALB, ECS service, RDS instance or Redis group of an account makes its service-linked role
    new PolicyStatement({
      actions: ["iam:CreateServiceLinkedRole"],
      resources: [
        stack.formatArn({ service: "iam", region: "", resource: "role", resourceName: "aws-service-role/*" }),
      ],
      conditions: {
        StringEquals: {
          "iam:AWSServiceName": [
            "elasticloadbalancing.amazonaws.com",
            "ecs.amazonaws.com",
            "rds.amazonaws.com",
            "elasticache.amazonaws.com",
          ],
        },
      },
    }),
    // Airbyte's bucket and the load balancers' access-log buckets, named after the stacks
    new PolicyStatement({
      actions: [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
        "s3:GetBucketLogging",
        "s3:PutBucketLogging",
      ],
      resources: [stack.formatArn({ service: "s3", region: "", account: "", resource: `${prefix}-*` })],
    }),
    // the latest Amazon Linux 2023 AMI, a public parameter the Airbyte template resolves
    new PolicyStatement({
      actions: ["ssm:GetParameters", "ssm:GetParameter"],
      resources: [
        stack.formatArn({
          service: "ssm",
          account: "",
          resource: "parameter",
          resourceName: "aws/service/*",
        }),
      ],
    }),
  ];
  const hostedZone = deployment.config.provisioning?.hostedZone;
  if (hostedZone) {
    // the tools' DNS records, in the configured zone only
    statements.push(
      new PolicyStatement({
        actions: [
          "route53:ChangeResourceRecordSets",
          "route53:ListResourceRecordSets",
          "route53:GetHostedZone",
        ],
        resources: [`arn:${stack.partition}:route53:::hostedzone/${hostedZone.id}`],
      }),
      new PolicyStatement({
        actions: ["route53:GetChange"],
        resources: [`arn:${stack.partition}:route53:::change/*`],
      }),
    );
  }
  for (const statement of statements) role.addToPolicy(statement);

  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "CloudFormation deploys the tool stacks with this role: EC2 instances, security groups, launch templates, load balancers, target groups, ECS clusters, task definitions and services, RDS instances, ElastiCache groups and generated secrets get their ids only when created, and the Describe/RegisterTaskDefinition/GetRandomPassword calls take no resource-level permission, so these services are granted by exact action on Resource *; only CloudFormation can assume the role and only the tool-stack function may pass it, for the two stacks tapestry-<stage>-airbyte and -grouparoo",
        appliesTo: ["Resource::*"],
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "IAM roles, instance profiles and S3 buckets are limited to the names CloudFormation gives the tool stacks' resources (tapestry-<stage>-*), log groups and alarms to this account and region (their names come from the tool stacks' logical ids), the AMI to AWS's public /aws/service/ parameters, Route 53 changes to their change ids, service-linked roles to the four services named in the condition",
        appliesTo: [
          {
            regex:
              "/^Resource::arn:<AWS::Partition>:iam::.*:(role|instance-profile)\\/tapestry-[a-z0-9-]+-\\*$/g",
          },
          { regex: "/^Resource::arn:<AWS::Partition>:iam::.*:role\\/aws-service-role\\/\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:s3:::tapestry-[a-z0-9-]+-\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:logs:.*:log-group:\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:cloudwatch:.*:alarm:\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:ssm:.*::parameter\\/aws\\/service\\/\\*$/g" },
          { regex: "/^Resource::arn:<AWS::Partition>:route53:::change\\/\\*$/g" },
        ],
      },
    ],
    true,
  );
  return role;
}
