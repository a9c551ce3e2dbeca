/** Percentile of a sample (nearest rank), in the sample's unit. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export async function timeEach(
  times: number,
  fn: (i: number) => Promise<unknown> | unknown,
): Promise<number[]> {
  const sample: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn(i);
    sample.push(performance.now() - started);
  }
  return sample;
}

export const ms = (value: number): string => `${value.toFixed(value < 1 ? 3 : 2)} ms`;
