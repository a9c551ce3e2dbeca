/**
 * The Snowflake adapter of the warehouse bootstrap's session port: snowflake-sdk 2.x driven
 * through snowflake-promise 5.x. The only place in core that imports them (lazily: the SDK takes
 * a second to load and only the bootstrap needs it).
 */
export {
  createSnowflakeConnect,
  type SnowflakeConnectOptions,
  snowflakeConnectionOptions,
  toSnowflakeError,
} from "./snowflake-promise-session";
