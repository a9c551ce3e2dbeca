import { kickstartWith, type Loose } from "./invalid-configs";

/** The kickstart, self-hosting both tools at URLs of its own zone, over HTTPS. */
export function selfHostedKickstart(change: (config: Loose) => void = () => {}): unknown {
  return kickstartWith((config) => {
    config.tools.airbyte.baseUrl = "https://airbyte.rain-shield.example/api/public/v1";
    config.tools.grouparoo.baseUrl = "https://grouparoo.rain-shield.example";
    config.provisioning = {
      hosting: { airbyte: "self-hosted", grouparoo: "self-hosted" },
      allowedCidrs: ["203.0.113.0/24"],
      certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
      hostedZone: { id: "Z0123456789ABCDEFGHIJ", name: "rain-shield.example" },
    };
    change(config);
  });
}
