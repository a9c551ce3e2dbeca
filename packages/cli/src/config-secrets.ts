import { secretReferences, type TapestryConfig } from "@tapestry/core/config";
import { provisioningSecretReferences } from "@tapestry/core/provisioning";
import { warehouseSecretReferences } from "@tapestry/core/provisioning/warehouse";
import type { NeededSecret } from "./secret-variables";

/**
 * The secrets of a config a user sets by hand: the tools' credentials, the sources' and the
 * destination's secrets provisioning writes into the tools, the warehouse admin's. Not the
 * webhooks' (registering a webhook makes its secret) nor the service users' keys (the warehouse
 * bootstrap makes them).
 */
export function userSetSecrets(config: TapestryConfig): NeededSecret[] {
  const tools = secretReferences(config.tools).filter((r) => !/\.webhook\./.test(r.field));
  const warehouse = config.warehouse
    ? warehouseSecretReferences(config.warehouse).filter((r) => !r.madeByBootstrap)
    : [];
  const all = [...tools, ...provisioningSecretReferences(config), ...warehouse];
  return [...new Map(all.map(({ name, field }) => [name, { name, field }])).values()];
}
