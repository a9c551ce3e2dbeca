/**
 * Issue 11: the self-hosted tools' CloudFormation stacks, deployed, checked, health-checked and
 * deleted by the provision and deprovision state machines (ADR 0023).
 */
export * from "./cloudformation";
export * from "./deployer";
export * from "./deprovision";
export * from "./errors";
export * from "./hosting";
export * from "./records";
export * from "./tasks";
