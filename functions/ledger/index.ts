export { createProjectEventHandler, type ProjectEventDeps, type ProjectEventLambda } from "./project-event";
