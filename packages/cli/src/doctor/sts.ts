/**
 * The STS client and command doctor asks who the caller is with: one import, so tests mock the
 * very classes the CLI uses (the repository holds other versions of this SDK).
 */
export { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
