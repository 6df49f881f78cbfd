import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forecastDaily } from "../lib/analytics/forecast.js";
import { toCsv } from "../lib/http/csv.js";

describe("demand forecast (exponential smoothing + weekly seasonality)", () => {
  it("forecasts the constant for a constant series, whatever the constant, length and start weekday", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 120 }), fc.nat(6), fc.constantFrom(14, 30), (c, n, weekday, horizon) => {
        const out = forecastDaily(Array(n).fill(c), weekday, horizon);
        expect(out).toHaveLength(horizon);
        for (const v of out) expect(v).toBeCloseTo(c, 9);
      }),
    );
  });

  it("reproduces a perfectly weekly series' pattern, aligned by weekday", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 7, maxLength: 7 }), fc.integer({ min: 14, max: 84 }), fc.nat(6), (pattern, n, firstWeekday) => {
        // pattern[d] = units sold on weekday d (0 = Sunday).
        const history = Array.from({ length: n }, (_, t) => pattern[(firstWeekday + t) % 7]!);
        const out = forecastDaily(history, firstWeekday, 30);
        out.forEach((v, k) => expect(v).toBeCloseTo(pattern[(firstWeekday + n + k) % 7]!, 9));
      }),
    );
  });

  it("follows a level shift gradually and never forecasts negative demand", () => {
    const history = [...Array(28).fill(10), ...Array(7).fill(0)];
    const out = forecastDaily(history, 1, 14);
    for (const v of out) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(10);
    }
    expect(forecastDaily([], 0, 14)).toEqual(Array(14).fill(0));
  });
});

describe("CSV", () => {
  it("quotes separators, doubles quotes, neutralises formulas, keeps numbers and blanks", () => {
    expect(toCsv(["a", "b"], [["x,y", 'say "hi"'], ["=1+1", -5], ["line\nbreak", null], ["@cmd", true]])).toBe(
      'a,b\r\n"x,y","say ""hi"""\r\n\'=1+1,-5\r\n"line\nbreak",\r\n\'@cmd,true\r\n',
    );
  });
});
