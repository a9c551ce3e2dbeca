export {
  createBootstrapWarehouseHandler,
  createDeprovisioningRunHandler,
  createEnsureAirbyteHandler,
  createProvisioningRunHandler,
  createToolHealthHandler,
  createToolStackHandler,
  createWriteGrouparooConfigHandler,
} from "./handlers";
export { provisionTaskHandler } from "./task-handler";
