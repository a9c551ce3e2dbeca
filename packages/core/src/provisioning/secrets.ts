import type { TapestryConfig } from "../config";
import { formatPath } from "../zod-messages";

/** A secret the provisioning sections name, for `tapestry secrets list`: which tool, which field. */
export interface ProvisioningSecretReference {
  readonly tool: "airbyte" | "grouparoo";
  /** the config field naming it, e.g. `airbyte.sources[0].secrets.client_secret` */
  readonly field: string;
  readonly name: string;
}

/**
 * The secrets the airbyte and grouparoo sections name: each source's secret settings (sent to
 * Airbyte by provisioning) and the Mailchimp API key (read by Grouparoo from its environment). The
 * tools' own credentials are the tools section's (config/secrets.ts), the warehouse's its own.
 */
export function provisioningSecretReferences(config: TapestryConfig): readonly ProvisioningSecretReference[] {
  const sources = (config.airbyte?.sources ?? []).flatMap((source, i) =>
    Object.entries(source.secrets).map(([setting, name]) => ({
      tool: "airbyte" as const,
      field: formatPath(["airbyte", "sources", i, "secrets", setting]),
      name,
    })),
  );
  const grouparoo = config.grouparoo
    ? [
        {
          tool: "grouparoo" as const,
          field: "grouparoo.destination.apiKeySecret",
          name: config.grouparoo.destination.apiKeySecret,
        },
      ]
    : [];
  return [...sources, ...grouparoo];
}
