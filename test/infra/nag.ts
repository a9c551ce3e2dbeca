import type { Stack } from "aws-cdk-lib";
import { AwsSolutionsChecks, type INagLogger } from "cdk-nag";

export interface NagFindings {
  /** `<level> <rule> <finding> <construct path>` of every finding left unsuppressed */
  readonly unsuppressed: readonly string[];
  readonly suppressed: readonly { readonly ruleId: string; readonly path: string; readonly reason: string }[];
  readonly ruleErrors: readonly string[];
}

/**
 * cdk-nag's AwsSolutions pack over every construct of the app. The pack is run by visiting each
 * construct rather than as an Aspect: SST's app refuses aspects added after its stacks are built.
 */
export function runAwsSolutionsChecks(app: { readonly stacks: ReadonlyMap<string, Stack> }): NagFindings {
  const unsuppressed: string[] = [];
  const suppressed: { ruleId: string; path: string; reason: string }[] = [];
  const ruleErrors: string[] = [];
  const collector: INagLogger = {
    onCompliance: () => undefined,
    onNotApplicable: () => undefined,
    onNonCompliance: (d) =>
      unsuppressed.push(`${d.ruleLevel} ${d.ruleId} ${d.findingId} ${d.resource.node.path}`),
    onSuppressed: (d) =>
      suppressed.push({ ruleId: d.ruleId, path: d.resource.node.path, reason: d.suppressionReason }),
    onError: (d) => ruleErrors.push(`${d.ruleId} ${d.resource.node.path}: ${d.errorMessage}`),
    onSuppressedError: () => undefined,
  };
  const pack = new AwsSolutionsChecks({ additionalLoggers: [collector], reports: false });
  for (const stack of app.stacks.values()) {
    for (const construct of stack.node.findAll()) pack.visit(construct);
  }
  return { unsuppressed, suppressed, ruleErrors };
}
