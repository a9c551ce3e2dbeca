import { DefaultStackSynthesizer, type FileAssetLocation, type FileAssetSource, Lazy } from "aws-cdk-lib";
import { useProject } from "sst/project.js";

/**
 * The function SST v2 adds to every stack for the custom resources of its own constructs (source
 * maps, Auth, Script). These stacks use none of them, so stacks/index.ts removes it (ADR 0008).
 */
export const SST_CUSTOM_RESOURCE_HANDLER = "CustomResourceHandler";

/**
 * CDK's default synthesizer with the `cdk` settings of sst.config.ts (as SST would build it),
 * except that it never publishes the code of SST's custom-resource function. SST creates that
 * function in every stack's constructor, which registers its code as an asset at once: removing
 * the function afterwards leaves the asset in the stack's asset manifest, uploaded on every deploy
 * for a function that does not exist.
 */
export class TapestryStackSynthesizer extends DefaultStackSynthesizer {
  constructor() {
    const cdk = useProject().config.cdk ?? {};
    super({
      qualifier: cdk.qualifier,
      bootstrapStackVersionSsmParameter: cdk.bootstrapStackVersionSsmParameter,
      fileAssetsBucketName: cdk.fileAssetsBucketName,
      deployRoleArn: cdk.deployRoleArn,
      fileAssetPublishingRoleArn: cdk.fileAssetPublishingRoleArn,
      imageAssetPublishingRoleArn: cdk.imageAssetPublishingRoleArn,
      imageAssetsRepositoryName: cdk.imageAssetsRepositoryName,
      cloudFormationExecutionRole: cdk.cloudFormationExecutionRole,
      lookupRoleArn: cdk.lookupRoleArn,
    });
  }

  override addFileAsset(asset: FileAssetSource): FileAssetLocation {
    if (asset.displayName === `${SST_CUSTOM_RESOURCE_HANDLER}/Code`) return NOT_PUBLISHED;
    return super.addFileAsset(asset);
  }
}

// Resolved only if a template used it: then a construct that needs SST's custom resources was
// added, and the synth fails saying so rather than deploying a function whose code is nowhere.
const notPublished = Lazy.string({
  produce: () => {
    throw new Error(
      `a construct uses SST's ${SST_CUSTOM_RESOURCE_HANDLER}, whose code Tapestry does not publish (stacks/synthesizer.ts): keep the handler and its asset, or use a construct without SST custom resources`,
    );
  },
});
const NOT_PUBLISHED: FileAssetLocation = {
  bucketName: notPublished,
  objectKey: notPublished,
  httpUrl: notPublished,
  s3ObjectUrl: notPublished,
};
