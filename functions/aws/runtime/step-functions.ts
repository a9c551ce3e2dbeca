/** The Step Functions client, one per container, for the functions that start, stop or read runs or answer task tokens. */
import { SFNClient } from "@aws-sdk/client-sfn";
import { once } from "./environment";

export const sfnClient = once(() => new SFNClient({}));
