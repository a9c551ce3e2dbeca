import { parseConfig } from "@tapestry/core/config";
import { describe, expect, it } from "vitest";
import kickstart from "../../tapestry.config";
import { issueAt, issuesOf } from "../support/config-issues";

// biome-ignore lint/suspicious/noExplicitAny: the tests bend configs into invalid shapes on purpose
type Loose = Record<string, any>;

/** A deep copy of the kickstart config with one change applied. */
function kickstartWith(change: (config: Loose) => void): unknown {
  const copy = structuredClone(kickstart) as Loose;
  change(copy);
  return copy;
}

const PRIVATE_KEY =
  "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";

describe("the kickstart's provisioning sections", () => {
  it("declares Zoom and Salesforce sources, two manual connections and steps that name them", () => {
    const config = parseConfig(kickstart);
    expect(config.airbyte?.sources.map((s) => `${s.name}:${s.type}`)).toEqual([
      "zoom:zoom",
      "salesforce:salesforce",
    ]);
    expect(config.airbyte?.connections.map((c) => [c.name, c.source, c.schedule])).toEqual([
      ["zoom-webinar-registrants", "zoom", "manual"],
      ["salesforce-contacts", "salesforce", "manual"],
    ]);
    expect(config.airbyte?.destination).toEqual({ name: "tapestry-warehouse", defaultSchema: "PUBLIC" });
    const ingest = config.pipelines[0]?.stages[0]?.steps ?? [];
    expect(ingest.map((step) => step.tool === "airbyte" && [step.connection, step.connectionId])).toEqual([
      ["zoom-webinar-registrants", undefined],
      ["salesforce-contacts", undefined],
    ]);
    expect(config.grouparoo?.schedule.id).toBe("sch_mailchimp_audience");
    expect(config.grouparoo?.destination.apiKeySecret).toBe("MAILCHIMP_API_KEY");
  });

  it("still accepts a step with a connectionId and no airbyte section", () => {
    const config = parseConfig(
      kickstartWith((c) => {
        delete c.airbyte;
        c.pipelines[0].stages[0].steps[0].connection = undefined;
        c.pipelines[0].stages[0].steps[0].connectionId = "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11";
        c.pipelines[0].stages[0].steps[1].connection = undefined;
        c.pipelines[0].stages[0].steps[1].connectionId = "c2a91e7b-3f64-4d8a-8e21-6a9d0b7f4c32";
      }),
    );
    expect(config.airbyte).toBeUndefined();
  });
});

/** Each invalid config: what was changed, where the problem is reported, and what the message must say. */
const INVALID: readonly {
  readonly what: string;
  readonly change: (config: Loose) => void;
  readonly path: string;
  readonly says: RegExp;
}[] = [
  {
    what: "an unknown source type",
    change: (c) => {
      c.airbyte.sources[0].type = "zoomm";
    },
    path: "airbyte.sources[0].type",
    says: /source type Tapestry knows: one of zoom, salesforce/,
  },
  {
    what: "a secret value where a secret NAME goes",
    change: (c) => {
      c.airbyte.sources[0].secrets.client_secret = "x8Yt2pQ9vLm3Nb7Rk4Ws6Zd1";
    },
    path: "airbyte.sources[0].secrets.client_secret",
    says: /looks like a secret value; put its NAME here/,
  },
  {
    what: "a secret field's value written under settings",
    change: (c) => {
      c.airbyte.sources[1].settings.refresh_token = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrfh";
    },
    path: "airbyte.sources[1].settings.refresh_token",
    says: /is a secret of source-salesforce: .*secrets\["refresh_token"\]/,
  },
  {
    what: "a setting the connector does not have",
    change: (c) => {
      c.airbyte.sources[0].settings.acount_id = "typo";
    },
    path: "airbyte.sources[0].settings.acount_id",
    says: /is not a setting of source-zoom: .*account_id/,
  },
  {
    what: "a setting of the wrong type, per the official schema",
    change: (c) => {
      c.airbyte.sources[1].settings.is_sandbox = "yes";
    },
    path: "airbyte.sources[1].settings.is_sandbox",
    says: /expected a boolean, got "yes" \(Airbyte's source-salesforce spec\)/,
  },
  {
    what: "a required setting missing, per the official schema",
    change: (c) => {
      delete c.airbyte.sources[0].settings.account_id;
    },
    path: "airbyte.sources[0].settings.account_id",
    says: /is required: expected a string \(Airbyte's source-zoom spec\)/,
  },
  {
    what: "a required secret missing",
    change: (c) => {
      delete c.airbyte.sources[0].secrets.client_secret;
    },
    path: "airbyte.sources[0].secrets.client_secret",
    says: /is required by Airbyte's source-zoom spec: give the NAME of the secret/,
  },
  {
    what: "a step naming an unknown connection",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].connection = "zoom-registrants";
    },
    path: "pipelines[0].stages[0].steps[0].connection",
    says: /names no connection of airbyte\.connections \(declared: zoom-webinar-registrants, salesforce-contacts\)/,
  },
  {
    what: "a step with both connection and connectionId",
    change: (c) => {
      c.pipelines[0].stages[0].steps[0].connectionId = "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11";
    },
    path: "pipelines[0].stages[0].steps[0].connectionId",
    says: /give connection or connectionId, not both/,
  },
  {
    what: "a step with neither connection nor connectionId",
    change: (c) => {
      delete c.pipelines[0].stages[0].steps[1].connection;
    },
    path: "pipelines[0].stages[0].steps[1].connection",
    says: /is required: name the connection/,
  },
  {
    what: "a connection naming an undeclared source",
    change: (c) => {
      c.airbyte.connections[1].source = "hubspot";
    },
    path: "airbyte.connections[1].source",
    says: /names no source of airbyte\.sources: .*zoom, salesforce/,
  },
  {
    what: "two connections with one name",
    change: (c) => {
      c.airbyte.connections[1].name = "zoom-webinar-registrants";
      c.pipelines[0].stages[0].steps[1].connection = "zoom-webinar-registrants";
    },
    path: "airbyte.connections[1].name",
    says: /duplicate connection name "zoom-webinar-registrants" \(also airbyte\.connections\[0\]\)/,
  },
  {
    what: "a sync mode Airbyte does not have",
    change: (c) => {
      c.airbyte.connections[0].streams[0].syncMode = "full_refresh";
    },
    path: "airbyte.connections[0].streams[0].syncMode",
    says: /expected one of Airbyte's sync modes: full_refresh_overwrite/,
  },
  {
    what: "a cron schedule on a connection a pipeline runs",
    change: (c) => {
      c.airbyte.connections[0].schedule = { cron: "0 0 6 * * ?" };
    },
    path: "airbyte.connections[0].schedule",
    says: /run by pipeline rain-shield-audience .* use "manual"/,
  },
  {
    what: "an airbyte section without a warehouse for its destination",
    change: (c) => {
      delete c.warehouse;
      delete c.grouparoo;
    },
    path: "airbyte.destination",
    says: /built from the warehouse section/,
  },
  {
    what: "a Grouparoo mapping to an undeclared property",
    change: (c) => {
      c.grouparoo.destination.mapping.FNAME = "firstname";
    },
    path: "grouparoo.destination.mapping.FNAME",
    says: /names no property of grouparoo\.source\.properties \(declared: email, first_name, last_name, company\)/,
  },
  {
    what: "Grouparoo properties with no unique one",
    change: (c) => {
      c.grouparoo.source.properties[0].unique = false;
    },
    path: "grouparoo.source.properties",
    says: /exactly one property must be unique .* got 0/,
  },
  {
    what: "a Mailchimp key value where its secret NAME goes",
    change: (c) => {
      c.grouparoo.destination.apiKeySecret = "0123456789abcdef0123456789abcdef-us21";
    },
    path: "grouparoo.destination.apiKeySecret",
    says: /NAME of a secret, not its value|looks like a secret value/,
  },
  {
    what: "a Grouparoo id that cannot be a file name",
    change: (c) => {
      c.grouparoo.model.id = "People Model";
    },
    path: "grouparoo.model.id",
    says: /expected an id of lower-case letters, digits and underscores/,
  },
];

describe("invalid provisioning configs are refused at their path", () => {
  it.each(INVALID)("$what: $path", ({ change, path, says }) => {
    expect(issueAt(kickstartWith(change), path)).toMatch(says);
  });

  it("never repeats a secret value written where a secret or its name goes", () => {
    const issues = issuesOf(
      kickstartWith((c) => {
        c.airbyte.sources[0].settings.client_secret = PRIVATE_KEY;
        c.airbyte.sources[1].secrets.client_secret = PRIVATE_KEY;
        c.grouparoo.destination.apiKeySecret = PRIVATE_KEY;
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining([
        "airbyte.sources[0].settings.client_secret",
        "airbyte.sources[1].secrets.client_secret",
        "grouparoo.destination.apiKeySecret",
      ]),
    );
    expect(JSON.stringify(issues)).not.toContain("MIIEvQ");
  });
});
