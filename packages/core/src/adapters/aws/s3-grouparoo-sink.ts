import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { ProvisioningStoreUnavailableError } from "../../provisioning/errors";
import type { GrouparooConfigSink } from "../../provisioning/grouparoo/write";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";

/**
 * Grouparoo's config files on AWS: objects under a prefix of the Provisioning stack's bucket
 * (`grouparoo/config/...`, `grouparoo/environment.json`), which issue 11's Grouparoo tasks copy
 * before `grouparoo apply`. The files name secrets by environment variable, never hold one.
 */
export function s3GrouparooSink(options: {
  /** default: a client of the Lambda's role and region (core's own SDK: the functions do not depend on S3's) */
  readonly client?: S3Client;
  readonly bucket: string;
  /** ends in "/" */
  readonly prefix: string;
}): GrouparooConfigSink {
  const { bucket, prefix } = options;
  const client = options.client ?? new S3Client({});
  const key = (path: string) => {
    if (path.split("/").some((part) => part === ".." || part === ""))
      throw new Error(`${path} is not a file path under ${prefix}`);
    return `${prefix}${path}`;
  };
  const guard = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (!isTransientSdkError(error)) throw error;
      throw new ProvisioningStoreUnavailableError(
        `S3 (s3://${bucket}/${what}) is unavailable for now: ${describeSdkError(error)}`,
        { cause: error },
      );
    }
  };
  return {
    list: async () => {
      const paths: string[] = [];
      let token: string | undefined;
      do {
        const answer = await guard(prefix, () =>
          client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
        );
        for (const object of answer.Contents ?? []) {
          if (object.Key) paths.push(object.Key.slice(prefix.length));
        }
        token = answer.IsTruncated ? answer.NextContinuationToken : undefined;
      } while (token);
      return paths.sort();
    },
    read: async (path) => {
      try {
        const answer = await guard(key(path), () =>
          client.send(new GetObjectCommand({ Bucket: bucket, Key: key(path) })),
        );
        return await answer.Body?.transformToString("utf8");
      } catch (error) {
        if (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound"))
          return undefined;
        throw error;
      }
    },
    write: async (path, content) => {
      await guard(key(path), () =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key(path),
            Body: content,
            ContentType: path.endsWith(".json") ? "application/json" : "text/plain; charset=utf-8",
          }),
        ),
      );
    },
    remove: async (path) => {
      await guard(key(path), () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(path) })));
    },
  };
}
