import { hasProblem, type Problem, problemOf } from "../problem-details";

export {
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type ProblemAnswer,
  type ProblemSource,
} from "../problem-details";

/** A problem whose meaning is the status code's own ("about:blank"); its title is the status phrase. */
export function problem(status: number, detail: string, instance: string): Problem {
  return problemOf({ status }, detail, instance);
}

export function routeNotFoundProblem(method: string, path: string): Problem {
  return problem(404, `no route ${method} ${path}`, path);
}

export function methodNotAllowedProblem(method: string, path: string, allow: readonly string[]): Problem {
  return problemOf(
    { status: 405 },
    `${path} does not accept ${method}; it accepts ${allow.join(", ")}`,
    path,
    {
      allow,
    },
  );
}

/**
 * The problem for anything thrown while answering `instance`: the error's own, when it knows one
 * (its `toProblem`, looked for by duck typing, so an error of another bundle's copy of core
 * answers the same), else a 500 whose detail says nothing about the error: its message may name
 * internals, and the service's log has it.
 */
export function problemFromError(error: unknown, instance: string): Problem {
  if (hasProblem(error)) return error.toProblem(instance);
  return problem(500, "the request could not be answered; the error is in the service's log", instance);
}
