/**
 * The CloudFormation client and command the CLI looks a stage's outputs up with: one import, so
 * tests mock the very classes the CLI uses (the repository holds other versions of this SDK).
 */
export { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
