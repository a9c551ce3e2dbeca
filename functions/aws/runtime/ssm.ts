/** One SSM client per container, for the functions that read or write parameters beyond the secrets' reader. */
import { SSMClient } from "@aws-sdk/client-ssm";
import { once } from "./environment";

export const ssmClient = once(() => new SSMClient({}));
