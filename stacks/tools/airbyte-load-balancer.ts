import { Duration, type Stack } from "aws-cdk-lib";
import { type IVpc, Peer, Port, SecurityGroup } from "aws-cdk-lib/aws-ec2";
import {
  ApplicationLoadBalancer,
  ApplicationProtocol,
  ApplicationTargetGroup,
  IpAddressType,
  ListenerAction,
  ListenerCertificate,
  ListenerCondition,
  SslPolicy,
  TargetType,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { InstanceIdTarget } from "aws-cdk-lib/aws-elasticloadbalancingv2-targets";
import { ARecord, HostedZone, RecordTarget } from "aws-cdk-lib/aws-route53";
import { LoadBalancerTarget } from "aws-cdk-lib/aws-route53-targets";
import type { Bucket } from "aws-cdk-lib/aws-s3";
import { AIRBYTE_PORT, type AirbyteHost } from "./airbyte-host";

/** Airbyte server's health route (unauthenticated), reached through abctl's ingress. */
export const AIRBYTE_HEALTH_PATH = "/api/v1/health";

export interface AirbyteLoadBalancerProps {
  readonly vpc: IVpc;
  readonly url: URL;
  readonly certificateArn?: string | undefined;
  readonly hostedZone?: { readonly id: string; readonly name: string } | undefined;
  /** who may connect: the allowed CIDRs and the control plane's egress (tokens allowed) */
  readonly sources: readonly { readonly cidr: string; readonly what: string }[];
  readonly host: AirbyteHost;
  readonly accessLogs: Bucket;
}

export interface AirbyteLoadBalancer {
  readonly alb: ApplicationLoadBalancer;
  readonly securityGroup: SecurityGroup;
}

/**
 * The internet-facing ALB before the host: ingress only from `sources`, HTTPS with the
 * certificate (HTTP redirects to it) or plain HTTP without one, invalid headers dropped, access
 * logged, and only the URL's host forwarded to port 8000. abctl's ingress answers any Host (the
 * install has no --host), so the health check (Host = the target's IP) reaches Airbyte's health
 * route; the ALB enforces the host instead.
 */
export function airbyteLoadBalancer(stack: Stack, props: AirbyteLoadBalancerProps): AirbyteLoadBalancer {
  const { certificateArn, url, vpc } = props;
  const securityGroup = new SecurityGroup(stack, "LoadBalancerSecurityGroup", {
    vpc,
    description:
      "Airbyte load balancer: the allowed CIDRs and the control plane's egress, to the host on 8000",
    allowAllOutbound: false,
  });
  props.host.securityGroup.addIngressRule(securityGroup, Port.tcp(AIRBYTE_PORT), "from the load balancer");
  securityGroup.addEgressRule(props.host.securityGroup, Port.tcp(AIRBYTE_PORT), "to the Airbyte host");
  for (const port of certificateArn === undefined ? [80] : [443, 80]) {
    for (const { cidr, what } of props.sources) {
      securityGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(port), `${what}, port ${port}`);
    }
  }

  const alb = new ApplicationLoadBalancer(stack, "LoadBalancer", {
    vpc,
    internetFacing: true,
    vpcSubnets: { subnets: vpc.publicSubnets },
    securityGroup,
    ipAddressType: IpAddressType.IPV4,
    dropInvalidHeaderFields: true,
    // abctl's nginx allows 600 s per request (schema discovery can be slow)
    idleTimeout: Duration.seconds(600),
  });
  alb.logAccessLogs(props.accessLogs, "alb");
  const targets = new ApplicationTargetGroup(stack, "Targets", {
    vpc,
    port: AIRBYTE_PORT,
    protocol: ApplicationProtocol.HTTP,
    targetType: TargetType.INSTANCE,
    targets: [new InstanceIdTarget(props.host.instance.ref, AIRBYTE_PORT)],
    deregistrationDelay: Duration.seconds(30),
    healthCheck: {
      path: AIRBYTE_HEALTH_PATH,
      healthyHttpCodes: "200",
      interval: Duration.seconds(30),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 5,
    },
  });

  const notThisHost = ListenerAction.fixedResponse(404, {
    contentType: "text/plain",
    messageBody: "not found",
  });
  // open: false on every listener, else CDK admits 0.0.0.0/0: the rules above are the only ones
  const listener =
    certificateArn === undefined
      ? alb.addListener("Http", {
          port: 80,
          protocol: ApplicationProtocol.HTTP,
          open: false,
          defaultAction: notThisHost,
        })
      : alb.addListener("Https", {
          port: 443,
          protocol: ApplicationProtocol.HTTPS,
          open: false,
          certificates: [ListenerCertificate.fromArn(certificateArn)],
          sslPolicy: SslPolicy.RECOMMENDED_TLS,
          defaultAction: notThisHost,
        });
  listener.addAction("AirbyteHost", {
    priority: 10,
    conditions: [ListenerCondition.hostHeaders([url.hostname])],
    action: ListenerAction.forward([targets]),
  });
  if (certificateArn !== undefined) {
    alb.addListener("HttpRedirect", {
      port: 80,
      protocol: ApplicationProtocol.HTTP,
      open: false,
      defaultAction: ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
    });
  }

  if (props.hostedZone) {
    const zone = HostedZone.fromHostedZoneAttributes(stack, "Zone", {
      hostedZoneId: props.hostedZone.id,
      zoneName: props.hostedZone.name,
    });
    new ARecord(stack, "AirbyteRecord", {
      zone,
      recordName: `${url.hostname}.`,
      target: RecordTarget.fromAlias(new LoadBalancerTarget(alb)),
    });
  }
  return { alb, securityGroup };
}
