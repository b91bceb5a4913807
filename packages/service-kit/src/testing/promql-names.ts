// Words that can stand where a metric name stands in PromQL but are not metrics.
const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless',
  'offset', 'atan2', 'inf', 'nan', 'start', 'end',
]);

/**
 * The metric names a PromQL expression selects. Enough of PromQL for dashboards and alert
 * rules: strings, label matchers, ranges, grouping clauses and Grafana variables are removed;
 * what remains that is not a function call, an aggregation or a keyword is a metric name.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const word = m[1];
    if (word !== undefined && !KEYWORDS.has(word.toLowerCase())) names.add(word);
  }
  return [...names];
}

/** The metric a Grafana `label_values(metric{...}, label)` variable query reads. */
export function labelValuesMetric(query: string): string[] {
  const m = /^\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*$/.exec(query);
  return m?.[1] === undefined ? [] : promqlMetricNames(m[1]);
}
