// Small statistics and markdown helpers for the bench report.

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export function ms(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 100 ? value.toFixed(0) : value.toFixed(digits);
}

/** "1" when every sample agrees, otherwise "mean (min–max)". */
export function describeCounts(counts: readonly number[]): string {
  if (counts.length === 0) return "–";
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  if (min === max) return String(min);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  return `${mean.toFixed(2)} (${min}–${max})`;
}

export function markdownTable(header: string[], rows: string[][], align?: ("l" | "r" | "c")[]): string {
  const rule = header.map((_, i) => {
    const a = align?.[i] ?? "l";
    return a === "r" ? "---:" : a === "c" ? ":---:" : "---";
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}

export const thousands = (n: number) => Math.round(n).toLocaleString("en-US");
