export { type AuthProvider, bodyCredentials, noAuth, staticHeaderAuth } from "./auth";
export { DEFAULT_RETRY_POLICY, fullJitterDelay, parseRetryAfter, type RetryPolicy } from "./backoff";
export {
  type AttemptContext,
  type AttemptDecision,
  type AttemptOutcome,
  classifyAttempt,
  DEFAULT_MIN_ATTEMPT_MS,
} from "./classify";
export {
  HttpClient,
  type HttpClientOptions,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
} from "./client";
