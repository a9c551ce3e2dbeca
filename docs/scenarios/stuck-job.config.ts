import { defineConfig } from "@tapestry/core/config";
import kickstart from "../../tapestry.config";

/**
 * The shipped kickstart config with one change, for the stuck-job example: the Zoom sync's timeout
 * is 1 minute instead of 60, so the timeout fires (and the stuck job is cancelled) a minute in.
 */
export default defineConfig({
  ...kickstart,
  pipelines: kickstart.pipelines.map((pipeline) => ({
    ...pipeline,
    stages: pipeline.stages.map((stage) => ({
      ...stage,
      steps: stage.steps.map((step) =>
        step.name === "zoom-webinar-registrants" ? { ...step, timeoutMinutes: 1 } : step,
      ),
    })),
  })),
});
