// Demand forecast, "Holt-Winters lite": additive weekly seasonality plus an exponentially smoothed
// level, no trend.
//   1. Seasonal index of weekday d = mean of the days falling on d minus the overall mean, over the
//      most recent whole weeks (so every weekday weighs the same). Fewer than two whole weeks of
//      history: no seasonality (all indices 0).
//   2. Level: L = y0 - s(y0's weekday), then L = α·(y_t − s(t)) + (1 − α)·L for each later day.
//   3. Forecast for a future day = max(0, L + s(its weekday)).
// Additive rather than multiplicative because small sellers' daily series are full of zeros, where
// ratios explode; no trend term because on sparse data it mostly amplifies noise. A constant series
// forecasts the constant; a series that repeats every week forecasts its weekly pattern exactly.
export const ALPHA = 0.3;
export const METHOD = "exponential smoothing of the level (alpha 0.3) with additive weekly seasonal indices";

const MIN_SEASON_WEEKS = 2;

/**
 * `history`: units per consecutive day, oldest first, `firstWeekday` the weekday (0 = Sunday) of
 * history[0]. Returns `horizon` values for the days after the last one.
 */
export function forecastDaily(history: number[], firstWeekday: number, horizon: number, alpha = ALPHA): number[] {
  const n = history.length;
  if (n === 0) return Array.from({ length: horizon }, () => 0);
  const weekday = (t: number) => (firstWeekday + t) % 7;
  const season = seasonalIndices(history, weekday);
  let level = history[0]! - season[weekday(0)]!;
  for (let t = 1; t < n; t++) level = alpha * (history[t]! - season[weekday(t)]!) + (1 - alpha) * level;
  return Array.from({ length: horizon }, (_, k) => Math.max(0, level + season[weekday(n + k)]!));
}

function seasonalIndices(history: number[], weekday: (t: number) => number): number[] {
  const weeks = Math.floor(history.length / 7);
  const season = [0, 0, 0, 0, 0, 0, 0];
  if (weeks < MIN_SEASON_WEEKS) return season;
  const start = history.length - weeks * 7;
  const recent = history.slice(start);
  const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
  recent.forEach((y, i) => {
    season[weekday(start + i)]! += y / weeks;
  });
  return season.map((s) => s - mean);
}
