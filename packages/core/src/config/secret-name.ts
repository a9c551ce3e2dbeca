import { z } from "zod";
import { SECRET_NAME, secretNameProblem } from "../names";

/**
 * The name of a secret (an SSM SecureString on AWS, a local secret in the embedded control plane),
 * never its value. Whatever is not a name is never repeated in the message: it may be the value.
 */
export const secretName = z.custom<string>((value) => secretNameProblem(value) === undefined, {
  error: (issue) =>
    issue.input === undefined
      ? `is required: expected the NAME of a secret, in ${SECRET_NAME.rule} (its value is set with \`tapestry secrets set\`)`
      : secretNameProblem(issue.input),
});
