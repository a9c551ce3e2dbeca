import * as z from "zod";
import type { ConfigIssue } from "../errors";
import { formatPath } from "../zod-messages";
import type { TapestryConfig } from "./schema";

/**
 * The `provisioning` section (issue 11): which tools Tapestry hosts itself on AWS, the network
 * they live in, who may reach them, and their sizes. The provision state machine deploys a
 * self-hosted tool's stack (stacks/tools/); an external tool is reached at `tools.<tool>.baseUrl`
 * as before. A self-hosted tool keeps `baseUrl` too: it is the URL the user serves it at (Airbyte
 * is installed for that host name, Grouparoo's WEB_URL), reached through the stack's load balancer.
 */

const HOSTING = ["external", "self-hosted"] as const;
const hosting = (tool: string) =>
  z
    .enum(HOSTING, {
      error: `expected "external" (you run ${tool}; Tapestry reaches it at tools.${tool}.baseUrl) or "self-hosted" (Tapestry deploys it on AWS)`,
    })
    .default("external");

function whole(expected: string, min: number, max: number) {
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected });
}

/** A string of `pattern`, with one message for every way it can be wrong. */
const matching = (pattern: RegExp, message: string) =>
  z.string({ error: message }).regex(pattern, { error: message });

const cidr = z.union([z.cidrv4(), z.cidrv6()], {
  error: 'expected an IPv4 or IPv6 CIDR block, e.g. "203.0.113.0/24" or "2001:db8::/48"',
});

const awsId = (what: string, prefix: string) =>
  matching(
    new RegExp(`^${prefix}-[0-9a-f]{8,17}$`),
    `expected ${what} id, e.g. "${prefix}-0123456789abcdef0"`,
  );

const subnetIds = (which: string) =>
  z
    .array(awsId(`a ${which} subnet`, "subnet"), { error: `expected a list of ${which} subnet ids` })
    .min(2, { error: `expected ${which} subnets in two availability zones (the load balancers need two)` });

const networkSchema = z.discriminatedUnion(
  "vpc",
  [
    z.strictObject({
      /** a VPC of two availability zones, public and private subnets, made with the control plane */
      vpc: z.literal("new"),
      /** NAT gateways: 1 (one AZ's outage cuts the tools' egress) or 2 (one per AZ, twice the cost) */
      natGateways: z
        .union([z.literal(1), z.literal(2)], {
          error: "expected 1 (cheaper; one zone's outage cuts egress) or 2 (one per availability zone)",
        })
        .default(1),
    }),
    z.strictObject({
      vpc: z.literal("existing"),
      vpcId: awsId("a VPC", "vpc"),
      /** where the load balancers go: routed to an internet gateway */
      publicSubnetIds: subnetIds("public"),
      /** where the hosts, tasks, databases and the control plane's tool-facing functions go: routed through NAT */
      privateSubnetIds: subnetIds("private"),
      /** the public addresses the private subnets reach the internet from (their NAT gateways' IPs): the load balancers admit them so the control plane reaches its tools */
      egressCidrs: z
        .array(cidr, { error: "expected a list of CIDR blocks" })
        .min(1, { error: 'expected the NAT gateways\' public IPs as CIDRs, e.g. ["203.0.113.7/32"]' }),
    }),
  ],
  {
    error:
      'expected vpc "new" (Tapestry makes a VPC of two availability zones) or "existing" (give vpcId, publicSubnetIds, privateSubnetIds, egressCidrs)',
  },
);

/** Airbyte's images and Tapestry's host AMI are x86_64: Graviton families (m7g, t4g ...) are refused. */
const ARM_FAMILY = /^[a-z]+\d+[a-z]*g[a-z]*\./;
const instanceType = matching(
  /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
  'expected an EC2 instance type, e.g. "m7i.xlarge"',
).refine((type) => !ARM_FAMILY.test(type), {
  error: 'expected an x86_64 instance type (the Airbyte host runs x86_64 images): e.g. "m7i.xlarge"',
});

/** The sizes with fewer than 2 vCPUs, too small for Airbyte at all. */
const TOO_SMALL_SIZE = /\.(nano|micro|small|medium)$/;
/** 2 vCPUs: Airbyte runs only in abctl's low-resource mode. */
const TWO_VCPU_SIZE = /\.large$/;

const airbyteHostSchema = z.strictObject({
  /** 4 vCPU / 16 GiB by default: each sync job may take up to 3 CPU and 4 GiB */
  instanceType: instanceType.default("m7i.xlarge"),
  volumeGiB: whole(
    "expected whole GiB from 50 to 16384 (the root gp3 volume: images, kind, job logs)",
    50,
    16384,
  ).default(100),
  /** abctl's release, pinned (https://github.com/airbytehq/abctl/releases) */
  abctlVersion: matching(/^v\d+\.\d+\.\d+$/, 'expected an abctl release tag, e.g. "v0.30.1"').default(
    "v0.30.4",
  ),
  /** the Airbyte Helm chart's version (chart V2), pinned: not the platform's version */
  chartVersion: matching(/^\d+\.\d+\.\d+$/, 'expected a Helm chart version, e.g. "2.0.18"').default("2.3.0"),
  /** abctl's --low-resource-mode, for a 2 vCPU host (fewer, smaller job pods; slower syncs) */
  lowResourceMode: z.boolean({ error: "expected true or false" }).default(false),
});

/** Fargate's CPU units and the memory each allows (MiB). */
const FARGATE_MEMORY: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
};
const FARGATE_CPU_MESSAGE = `expected Fargate CPU units: ${Object.keys(FARGATE_MEMORY).join(", ")}`;
const fargateCpu = z
  .number({ error: FARGATE_CPU_MESSAGE })
  .refine((cpu) => Object.hasOwn(FARGATE_MEMORY, cpu), { error: FARGATE_CPU_MESSAGE });
const memoryMiB = whole("expected whole MiB", 512, 30720);

/** The memory Fargate allows with `cpu` units, as words for an error. */
export function fargateMemoryRule(cpu: number): string | undefined {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return undefined;
  const [min, max, step] = range;
  return `with cpu ${cpu}, Fargate allows memory from ${min} to ${max} MiB in steps of ${step}`;
}

function fargateMemoryAllowed(cpu: number, memory: number): boolean {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return true; // the cpu field's own error says it
  const [min, max, step] = range;
  return memory >= min && memory <= max && memory % step === 0;
}

/** A Fargate task's memory must suit its CPU: said at memoryMiB. */
function checkFargateSize(size: { cpu: number; memoryMiB: number }, ctx: z.RefinementCtx): void {
  if (!fargateMemoryAllowed(size.cpu, size.memoryMiB)) {
    ctx.addIssue({ code: "custom", path: ["memoryMiB"], message: `${fargateMemoryRule(size.cpu)}` });
  }
}

const grouparooServiceSchema = z.strictObject({
  /** Grouparoo is frozen at 0.9.0 (amd64 only): pinned by tag or digest, never "latest" */
  image: matching(
    /^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$/,
    'expected an image pinned by tag or digest, e.g. "grouparoo/omnibus:v0.9.0"',
  )
    .refine((image) => !image.endsWith(":latest"), {
      error: 'expected a pinned tag, not "latest": a redeploy must run the image that was tested',
    })
    .default("grouparoo/omnibus:v0.9.0"),
  web: z
    .strictObject({ cpu: fargateCpu.default(512), memoryMiB: memoryMiB.default(1024) })
    .superRefine(checkFargateSize)
    .prefault({}),
  worker: z
    .strictObject({
      cpu: fargateCpu.default(1024),
      memoryMiB: memoryMiB.default(2048),
      /** worker tasks (ECS desired count) */
      count: whole("expected a whole number of worker tasks from 1 to 10", 1, 10).default(1),
      /** Grouparoo's WORKERS: worker processes per task */
      workers: whole("expected a whole number of worker processes from 1 to 16", 1, 16).default(2),
    })
    .superRefine(checkFargateSize)
    .prefault({}),
  database: z
    .strictObject({
      instanceClass: matching(
        /^db\.[a-z0-9]+\.[a-z0-9]+$/,
        'expected an RDS instance class, e.g. "db.t4g.micro"',
      ).default("db.t4g.micro"),
      allocatedStorageGiB: whole("expected whole GiB from 20 to 65536", 20, 65536).default(20),
      /** automated backups are always on: 1 to 35 days */
      backupRetentionDays: whole(
        "expected whole days from 1 to 35 (automated backups cannot be off)",
        1,
        35,
      ).default(7),
      multiAz: z.boolean({ error: "expected true or false" }).default(false),
    })
    .prefault({}),
  redis: z
    .strictObject({
      nodeType: matching(
        /^cache\.[a-z0-9]+\.[a-z0-9]+$/,
        'expected an ElastiCache node type, e.g. "cache.t4g.micro"',
      ).default("cache.t4g.micro"),
    })
    .prefault({}),
});

export const hostingSchema = z.strictObject({
  hosting: z.strictObject({ airbyte: hosting("airbyte"), grouparoo: hosting("grouparoo") }).prefault({}),
  network: networkSchema.prefault({ vpc: "new" }),
  /** who may reach the tools' load balancers (their UIs and APIs); the control plane's egress is added */
  allowedCidrs: z.array(cidr, { error: 'expected a list of CIDR blocks, e.g. ["203.0.113.0/24"]' }).min(1, {
    error:
      'expected at least one CIDR block that may reach the tools (your office or VPN, e.g. ["203.0.113.0/24"])',
  }),
  /** the only way to admit 0.0.0.0/0 or ::/0 */
  allowPublicInternet: z.boolean({ error: "expected true or false" }).default(false),
  /** an ACM certificate for the tools' host names: HTTPS listeners; without it, plain HTTP (flagged) */
  certificateArn: matching(
    /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
    'expected an ACM certificate ARN, e.g. "arn:aws:acm:us-east-1:123456789012:certificate/…"',
  ).optional(),
  /** a Route 53 public hosted zone: the stacks add the tools' DNS records (otherwise CNAME them yourself) */
  hostedZone: z
    .strictObject({
      id: matching(/^Z[A-Z0-9]{1,32}$/, 'expected a hosted zone id, e.g. "Z0123456789ABCDEFGHIJ"'),
      name: matching(
        /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/,
        'expected the zone\'s domain name, e.g. "example.com"',
      ).transform((domain) => domain.replace(/\.$/, "")),
    })
    .optional(),
  airbyteHost: airbyteHostSchema.prefault({}),
  grouparooService: grouparooServiceSchema.prefault({}),
});

export type HostingConfig = z.output<typeof hostingSchema>;
export type ToolHosting = HostingConfig["hosting"];

/** The tools a config hosts itself, in the order they are deployed. */
export function selfHostedTools(config: Pick<TapestryConfig, "provisioning">): ("airbyte" | "grouparoo")[] {
  const hosting = config.provisioning?.hosting;
  if (!hosting) return [];
  return (["airbyte", "grouparoo"] as const).filter((tool) => hosting[tool] === "self-hosted");
}

const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);
const AIRBYTE_CLOUD_HOST = "api.airbyte.com";

/**
 * Rules between the provisioning section and the tools: something to host; open CIDRs only when
 * asked for; a self-hosted tool declared in `tools` with the URL it will be served at, its scheme
 * matching the listener (HTTPS only with a certificate), inside the hosted zone when one is given;
 * a self-hosted Airbyte authenticated by the application credentials its install makes.
 */
export function hostingIssues(config: TapestryConfig): ConfigIssue[] {
  const section = config.provisioning;
  if (!section) return [];
  const issues: ConfigIssue[] = [];
  const push = (path: (string | number)[], message: string) =>
    issues.push({ path: formatPath(path), message });
  const hosted = selfHostedTools(config);
  if (hosted.length === 0) {
    push(
      ["provisioning", "hosting"],
      'hosts no tool: set hosting.airbyte or hosting.grouparoo to "self-hosted", or remove the provisioning section',
    );
  }
  if (!section.allowPublicInternet) {
    section.allowedCidrs.forEach((block, i) => {
      if (OPEN_CIDRS.has(block)) {
        push(
          ["provisioning", "allowedCidrs", i],
          `${block} admits the whole internet to the tools' load balancers: list your office or VPN ranges instead, or set provisioning.allowPublicInternet: true if you mean it`,
        );
      }
    });
  }
  const { airbyteHost } = section;
  if (TOO_SMALL_SIZE.test(airbyteHost.instanceType)) {
    push(
      ["provisioning", "airbyteHost", "instanceType"],
      `${airbyteHost.instanceType} has too few vCPUs for Airbyte: use 4 vCPU and 16 GiB (e.g. "m7i.xlarge"), or 2 vCPU (".large") with lowResourceMode: true`,
    );
  } else if (TWO_VCPU_SIZE.test(airbyteHost.instanceType) && !airbyteHost.lowResourceMode) {
    push(
      ["provisioning", "airbyteHost", "lowResourceMode"],
      `${airbyteHost.instanceType} has 2 vCPUs: Airbyte needs 4 (e.g. "m7i.xlarge"), or set lowResourceMode: true to run it in abctl's low-resource mode`,
    );
  }
  for (const tool of hosted) {
    const declared = config.tools[tool];
    if (!declared) {
      push(
        ["tools", tool],
        `is self-hosted (provisioning.hosting.${tool}) but not declared: add tools.${tool} with baseUrl, the URL you will serve it at`,
      );
      continue;
    }
    const url = new URL(declared.baseUrl);
    if (tool === "airbyte" && url.hostname === AIRBYTE_CLOUD_HOST) {
      push(
        ["tools", "airbyte", "baseUrl"],
        "is Airbyte Cloud's, but Airbyte is self-hosted: set the URL you will serve it at, e.g. https://airbyte.example.com/api/public/v1",
      );
      continue;
    }
    if (url.protocol === "https:" && section.certificateArn === undefined) {
      push(
        ["tools", tool, "baseUrl"],
        `is https, but provisioning has no certificateArn, so ${tool}'s load balancer serves plain HTTP only: give provisioning.certificateArn (an ACM certificate for ${url.hostname}), or use http:// and accept plain HTTP`,
      );
    }
    if (url.protocol === "http:" && section.certificateArn !== undefined) {
      push(
        ["tools", tool, "baseUrl"],
        `is http, but the load balancer serves HTTPS with provisioning.certificateArn (HTTP only redirects): use https://${url.host}${url.pathname === "/" ? "" : url.pathname}`,
      );
    }
    const zone = section.hostedZone;
    if (zone && url.hostname !== zone.name && !url.hostname.endsWith(`.${zone.name}`)) {
      push(
        ["tools", tool, "baseUrl"],
        `has host ${url.hostname}, outside provisioning.hostedZone ${zone.name}: the stack can only add records in that zone`,
      );
    }
  }
  if (
    hosted.includes("airbyte") &&
    config.tools.airbyte &&
    config.tools.airbyte.auth.kind !== "client-credentials"
  ) {
    push(
      ["tools", "airbyte", "auth", "kind"],
      'must be "client-credentials" for a self-hosted Airbyte: its install makes an application whose client id and secret the host writes into the two secrets clientIdSecret and clientSecretSecret name',
    );
  }
  return issues;
}
