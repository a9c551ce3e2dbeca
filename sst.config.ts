import type { SSTConfig } from "sst";

/**
 * The AWS app. Its stacks (Events, Ledger, Pipelines, StatusApi, ...) arrive with the AWS issue;
 * until then the app is empty, and `sst deploy` would deploy nothing.
 */
export default {
  config() {
    return { name: "tapestry", region: process.env.AWS_REGION ?? "us-east-1" };
  },
  stacks() {},
} satisfies SSTConfig;
