// The execution log grouped by stage for the execution page: one group per stage name (the app
// logs "Queued" when the job is queued and the worker reports its own "queued" stage after the
// dispatch, which used to show as two "Queued" groups), each with how long the execution spent
// in it and, for the stages that move the data, the throughput.

import type { LogEntry } from '../api/types';

export interface StageGroup {
  stage: string;
  lines: LogEntry[];
  /** Time spent in the stage, ms (summed over its stretches); null when unknown. */
  ms: number | null;
  /** Bytes per second through the stage (data-moving stages only); null when unknown. */
  bytesPerSec: number | null;
}

/** Stages whose duration is the data's transfer time: throughput = bytes / duration. */
const DATA_STAGES = new Set(['dumping', 'verifying', 'restoring']);

const time = (t: string | null | undefined) => {
  const ms = t ? new Date(t).getTime() : NaN;
  return Number.isFinite(ms) ? ms : null;
};

/**
 * Groups `logs` (in time order) by stage, first appearance first, names compared without case.
 * A stretch of a stage lasts from its first line to the first line of the next stretch; the last
 * one ends at `endedAt`, or `now` while the execution runs. `bytes` is what went through the
 * data stages (the execution's bytes read, else its size).
 */
export function stageGroups(logs: LogEntry[], endedAt: string | null | undefined, now: number, bytes: number | null | undefined): StageGroup[] {
  const groups: StageGroup[] = [];
  const byKey = new Map<string, StageGroup>();
  // Stretches: consecutive lines of one stage.
  const stretches: { group: StageGroup; start: number | null }[] = [];
  for (const l of logs) {
    const stage = l.stage ?? 'General';
    const key = stage.toLowerCase();
    let g = byKey.get(key);
    if (!g) {
      g = { stage, lines: [], ms: null, bytesPerSec: null };
      byKey.set(key, g);
      groups.push(g);
    }
    g.lines.push(l);
    const last = stretches[stretches.length - 1];
    if (!last || last.group !== g) stretches.push({ group: g, start: time(l.timestamp) });
  }
  const end = endedAt ? time(endedAt) : now;
  stretches.forEach((s, i) => {
    const next = i + 1 < stretches.length ? stretches[i + 1].start : end;
    if (s.start === null || next === null || next < s.start) return;
    s.group.ms = (s.group.ms ?? 0) + (next - s.start);
  });
  for (const g of groups) {
    if (bytes && g.ms && g.ms > 0 && DATA_STAGES.has(g.stage.toLowerCase())) {
      g.bytesPerSec = (bytes * 1000) / g.ms;
    }
  }
  return groups;
}

/** "850 ms", "12.3 s", "4 min 05 s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
