import { secretParameterName } from "@tapestry/core/adapters/aws";
import { referencedSecretNames } from "@tapestry/core/config";
import type { Stack } from "aws-cdk-lib";
import type { Deployment } from "./deployment";

/**
 * The ARNs of exactly the SSM parameters the configured tools' secrets live in
 * (`/tapestry/<stage>/<NAME>`, SecureString, set with `tapestry secrets set`). CloudFormation
 * cannot create SecureStrings, and a secret's value must never pass through a template, so the
 * stacks only name them: a function may read those parameters and no other.
 */
export function secretParameterArns(stack: Stack, deployment: Deployment): string[] {
  return referencedSecretNames(deployment.config.tools).map((name) =>
    stack.formatArn({
      service: "ssm",
      resource: "parameter",
      // the parameter's name starts with "/", which formatArn would double
      resourceName: secretParameterName(deployment.stage, name).slice(1),
    }),
  );
}
