import { secretReferences, type TapestryConfig } from "@tapestry/core/config";
import type { ToolName } from "@tapestry/core/names";
import { provisioningSecretReferences } from "@tapestry/core/provisioning";
import type { NeededSecret } from "./secret-variables";

/**
 * The secrets `tapestry local` reads from the user, known before it starts anything: the tools
 * driven at their real endpoints (`--real`) need their credentials, and the sources' and
 * destination's secrets provisioning writes into them; a Slack webhook named by the config needs
 * its URL unless TAPESTRY_SLACK_WEBHOOK_URL gives it. The sandboxes' credentials are the session's
 * own. Webhook secrets are not asked for: a real tool's webhooks cannot reach loopback, so its
 * steps poll.
 */
export function localSecretsNeeded(
  config: TapestryConfig,
  realTools: ReadonlySet<ToolName>,
  slackUrlGiven: boolean,
): NeededSecret[] {
  const tools = secretReferences(config.tools).filter(
    (reference) => realTools.has(reference.tool) && !/\.webhook\./.test(reference.field),
  );
  const provisioning = provisioningSecretReferences(config).filter((reference) =>
    realTools.has(reference.tool),
  );
  const slack = config.alerts.slack?.webhookUrlSecret;
  return [
    ...tools,
    ...provisioning,
    ...(slack && !slackUrlGiven ? [{ name: slack, field: "alerts.slack.webhookUrlSecret" }] : []),
  ].map(({ name, field }) => ({ name, field }));
}
