// Vercel file-routing patterns ("/api/items/[id]/restore"). One [name] matches exactly one segment
// (outside Next.js, [...slug] is not a catch-all either).
export interface PathPattern {
  pattern: string;
  names: string[];
  regex: RegExp;
  /** Sort key: static segments beat dynamic ones at the first position where they differ. */
  rank: string;
}

export function compilePattern(pattern: string): PathPattern {
  const names: string[] = [];
  const segments = pattern.split("/").filter(Boolean);
  const source = segments
    .map((segment) => {
      const dynamic = /^\[(?:\.\.\.)?([A-Za-z0-9_]+)\]$/.exec(segment);
      if (dynamic) {
        names.push(dynamic[1]!);
        return "/([^/]+)";
      }
      return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
    })
    .join("");
  const rank = segments.map((s) => (s.startsWith("[") ? "1" : "0")).join("");
  return { pattern, names, regex: new RegExp(`^${source}/?$`), rank };
}

export function matchPath(compiled: PathPattern, pathname: string): Record<string, string> | undefined {
  const match = compiled.regex.exec(pathname);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  compiled.names.forEach((name, i) => {
    params[name] = safeDecode(match[i + 1]!);
  });
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
