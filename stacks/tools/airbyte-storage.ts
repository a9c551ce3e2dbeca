import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";

export interface AirbyteStorage {
  /** Airbyte's logs, state and workload output (global.storage, through the instance role) */
  readonly bucket: Bucket;
  /** the ALB's and the storage bucket's access logs */
  readonly accessLogs: Bucket;
  /** the boot script's log, shipped by the CloudWatch agent */
  readonly hostLog: LogGroup;
}

/**
 * What the Airbyte host keeps off its disk. Both buckets are retained when the stack is deleted
 * (the deprovisioning report lists them); current objects never expire, old versions do.
 */
export function airbyteStorage(stack: Stack): AirbyteStorage {
  const accessLogs = new Bucket(stack, "AccessLogs", {
    encryption: BucketEncryption.S3_MANAGED, // ELB access logs are delivered only to SSE-S3 buckets
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    versioned: true,
    lifecycleRules: [
      { expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(30) },
      { abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const bucket = new Bucket(stack, "Storage", {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    versioned: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "s3/storage/",
    // state and logs are rewritten in place: keep old versions a month, never expire current ones
    lifecycleRules: [
      { noncurrentVersionExpiration: Duration.days(30) },
      { abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const hostLog = new LogGroup(stack, "HostLog", {
    retention: RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return { bucket, accessLogs, hostLog };
}
