import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kickstartBindings } from "../../../packages/local/src/warehouse";
import kickstart from "../../../tapestry.config";
import { KICKSTART_CONNECTION_IDS } from "../../support/kickstart-connections";
import {
  DBT_JOB,
  MODEL_SQL,
  REPO_ROOT,
  SALESFORCE_CONNECTION,
  SALESFORCE_CSV,
  SCHEDULE,
  ZOOM_CONNECTION,
  ZOOM_CSV,
} from "./kickstart-data";

describe("kickstartBindings", () => {
  it("binds the ids of tapestry.config.ts to the kickstart data, model and export", async () => {
    const bindings = await kickstartBindings(REPO_ROOT, { connectionIds: KICKSTART_CONNECTION_IDS });
    expect(bindings).toEqual({
      airbyte: {
        [ZOOM_CONNECTION]: { table: "zoom.webinar_registrants", csv: ZOOM_CSV },
        [SALESFORCE_CONNECTION]: { table: "salesforce.contacts", csv: SALESFORCE_CSV },
      },
      "dbt-cloud": {
        [String(DBT_JOB)]: {
          model: MODEL_SQL,
          table: "analytics.email_model",
          sources: {
            "zoom.webinar_registrants": "zoom.webinar_registrants",
            "salesforce.contacts": "salesforce.contacts",
          },
        },
      },
      grouparoo: { [SCHEDULE]: { table: "analytics.email_model", exportFile: "mailchimp-audience.json" } },
    });
  });

  it("follows the ids of a given configuration, by step name", async () => {
    const config = structuredClone(kickstart);
    const steps = config.pipelines[0]?.stages.flatMap((stage) => stage.steps) ?? [];
    for (const step of steps) {
      if (step.tool === "airbyte" && step.name === "salesforce-contacts") {
        delete step.connection;
        step.connectionId = "00000000-0000-4000-8000-000000000001";
      }
      if (step.tool === "dbt-cloud") step.jobId = 7;
      if (step.tool === "grouparoo") step.scheduleId = "sch_other";
    }
    const bindings = await kickstartBindings("/somewhere", {
      config,
      connectionIds: KICKSTART_CONNECTION_IDS,
    });
    expect(Object.keys(bindings.airbyte)).toEqual([ZOOM_CONNECTION, "00000000-0000-4000-8000-000000000001"]);
    expect(bindings.airbyte["00000000-0000-4000-8000-000000000001"]?.csv).toBe(
      join("/somewhere", "templates", "kickstart", "data", "salesforce_contacts.csv"),
    );
    expect(Object.keys(bindings["dbt-cloud"])).toEqual(["7"]);
    expect(Object.keys(bindings.grouparoo)).toEqual(["sch_other"]);
  });

  it("names the kickstart steps a configuration lacks", async () => {
    const config = structuredClone(kickstart);
    const stage = config.pipelines[0]?.stages[0];
    if (stage) stage.steps = stage.steps.filter((step) => step.name !== "zoom-webinar-registrants");
    await expect(
      kickstartBindings(REPO_ROOT, { config, connectionIds: KICKSTART_CONNECTION_IDS }),
    ).rejects.toThrow(/has no kickstart airbyte step "zoom-webinar-registrants"/);
  });
});
