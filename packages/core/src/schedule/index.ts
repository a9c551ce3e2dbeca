export { type NextFireOptions, nextFireTime, nextFireTimes, type ScheduleSpec } from "./next-fire";
