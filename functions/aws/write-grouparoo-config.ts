/** Lambda for the provision task WriteGrouparooConfig: Grouparoo's config files. */
import { createWriteGrouparooConfigHandler } from "../provisioning/handlers";
import { logger, writeGrouparooConfigDeps } from "./runtime";

export const handler = createWriteGrouparooConfigHandler(writeGrouparooConfigDeps(), logger());
