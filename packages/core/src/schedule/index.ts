export {
  type CronExpression,
  type CronField,
  type CronFields,
  type CronItem,
  checkScheduleExpression,
  type ParsedSchedule,
  parseScheduleExpression,
  type RateExpression,
  type ScheduleExpression,
  YEAR_MAX,
  YEAR_MIN,
} from "./expression";
export { type HorizonOptions, scheduleHorizonProblem } from "./horizon";
export {
  type NextFireOptions,
  nextFireTime,
  nextFireTimes,
  RATE_GRID_ORIGIN,
  RATE_START_MARGIN_MS,
  rateScheduleStartDate,
  type ScheduleSpec,
} from "./next-fire";
