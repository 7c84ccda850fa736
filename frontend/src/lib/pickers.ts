/** Pure logic of the pickers: search filtering, database lists, the health grid. */
import type { DatabaseInfo, HealthCheck } from '../api/types';

/** Does `text` contain every whitespace-separated term of `query` (case-insensitive)? */
export function matches(text: string, query: string): boolean {
  const t = text.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((term) => t.includes(term));
}

/**
 * `items` matching `query`; prefix matches of the whole query first, then the rest in their
 * order. At most `limit` (for long lists such as the ~400 time zones).
 */
export function filterOptions<T>(items: readonly T[], query: string, text: (t: T) => string, limit = Infinity): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return items.slice(0, limit);
  const hits = items.filter((i) => matches(text(i), q));
  const starts = hits.filter((i) => text(i).toLowerCase().startsWith(q) || text(i).toLowerCase().includes(`/${q}`));
  const rest = hits.filter((i) => !starts.includes(i));
  return [...starts, ...rest].slice(0, limit);
}

/** Databases to offer: matching `query`, system databases only when asked, user ones first. */
export function filterDatabases(dbs: readonly DatabaseInfo[], query: string, showSystem: boolean): DatabaseInfo[] {
  const shown = dbs.filter((d) => showSystem || !d.system);
  const sorted = [...shown].sort((a, b) => Number(a.system) - Number(b.system) || a.name.localeCompare(b.name));
  return filterOptions(sorted, query, (d) => d.name);
}

/** Names typed as a comma- or newline-separated list (trimmed, no empties, no duplicates). */
export function parseNames(text: string): string[] {
  return [...new Set(text.split(/[,\n]/).map((x) => x.trim()).filter(Boolean))];
}

/** `list` with `name` added or removed. */
export function toggled(list: readonly string[], name: string, on: boolean): string[] {
  return on ? (list.includes(name) ? [...list] : [...list, name]) : list.filter((x) => x !== name);
}

/** Selected names the server did not list (typed by hand, or dropped since). */
export function unlisted(selected: readonly string[], dbs: readonly DatabaseInfo[]): string[] {
  const known = new Set(dbs.map((d) => d.name));
  return selected.filter((s) => !known.has(s));
}

export type HealthTone = 'ok' | 'warn' | 'bad' | 'unknown';

/** The colour class of a check status. */
export function healthTone(status: string | null | undefined): HealthTone {
  switch (status) {
    case 'ONLINE':
      return 'ok';
    case 'DEGRADED':
      return 'warn';
    case 'OFFLINE':
      return 'bad';
    default:
      return 'unknown';
  }
}

/** One cell of the health grid: the newest `count` checks, newest last. */
export interface HealthCell {
  check: HealthCheck;
  tone: HealthTone;
}

export function healthCells(entries: readonly HealthCheck[], count: number): HealthCell[] {
  return entries.slice(Math.max(0, entries.length - count)).map((check) => ({ check, tone: healthTone(check.status) }));
}

/** Share of ONLINE checks in percent (one decimal), or null without checks. */
export function uptimePercent(entries: readonly HealthCheck[]): number | null {
  if (!entries.length) return null;
  const ok = entries.filter((e) => e.status === 'ONLINE').length;
  return Math.round((ok / entries.length) * 1000) / 10;
}

/** The index focus moves to for a key in a one-row grid of `n` cells, or null (not handled). */
export function gridKeyTarget(key: string, current: number, n: number): number | null {
  if (n === 0) return null;
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return Math.min(n - 1, current + 1);
    case 'ArrowLeft':
    case 'ArrowUp':
      return Math.max(0, current - 1);
    case 'Home':
      return 0;
    case 'End':
      return n - 1;
    default:
      return null;
  }
}
