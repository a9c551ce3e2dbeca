export {
  createBootstrapWarehouseHandler,
  createEnsureAirbyteHandler,
  createProvisioningRunHandler,
  createWriteGrouparooConfigHandler,
} from "./handlers";
export { provisionTaskHandler } from "./task-handler";
