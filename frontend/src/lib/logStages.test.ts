import { describe, expect, it } from 'vitest';
import { formatMs, stageGroups } from './logStages';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const line = (s: number, stage: string, message: string) => ({ timestamp: at(s), level: 'info', stage, message });

// What a backup's log looks like: the app queues and starts it, the worker then reports its own
// "queued" stage, dumps and stores.
const backup = [
  line(0, 'Queued', 'Job queued (Manual)'),
  line(1, 'Starting', 'Started on the worker (task t1)'),
  line(1, 'Queued', 'Stage: Queued'),
  line(2, 'Dumping', 'Stage: Dumping'),
  line(6, 'Dumping', 'pg_dump 16.4'),
  line(10, 'Storing', 'Stage: Storing'),
];

describe('stageGroups', () => {
  it('shows one Queued group', () => {
    const groups = stageGroups(backup, at(12), 0, 8_000_000);
    expect(groups.map((g) => g.stage)).toEqual(['Queued', 'Starting', 'Dumping', 'Storing']);
    expect(groups[0].lines.map((l) => l.message)).toEqual(['Job queued (Manual)', 'Stage: Queued']);
  });

  it('sums each stage over its stretches and ends the last at endedAt', () => {
    const ms = stageGroups(backup, at(12), 0, null).map((g) => g.ms);
    // Queued 0→1 and 1→2, Starting 1→1, Dumping 2→10, Storing 10→12.
    expect(ms).toEqual([2000, 0, 8000, 2000]);
  });

  it('gives the throughput of the data stages only', () => {
    const groups = stageGroups(backup, at(12), 0, 8_000_000);
    expect(groups.find((g) => g.stage === 'Dumping')?.bytesPerSec).toBe(1_000_000);
    expect(groups.find((g) => g.stage === 'Storing')?.bytesPerSec).toBeNull();
    expect(stageGroups(backup, at(12), 0, null)[2].bytesPerSec).toBeNull();
  });

  it('runs the open stage to now while live, and merges names without case', () => {
    const live = [line(0, 'Queued', 'a'), line(3, 'restoring', 'b'), line(4, 'Restoring', 'c')];
    const groups = stageGroups(live, null, new Date(at(8)).getTime(), 5_000);
    expect(groups.map((g) => [g.stage, g.ms, g.lines.length])).toEqual([
      ['Queued', 3000, 1],
      ['restoring', 5000, 2],
    ]);
    expect(groups[1].bytesPerSec).toBe(1000);
  });

  it('handles lines without a stage or a time', () => {
    const groups = stageGroups([{ timestamp: 'x', level: 'info', message: 'm' }], null, 0, null);
    expect(groups).toEqual([{ stage: 'General', lines: [{ timestamp: 'x', level: 'info', message: 'm' }], ms: null, bytesPerSec: null }]);
  });
});

describe('formatMs', () => {
  it('picks the unit', () => {
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(12_340)).toBe('12.3 s');
    expect(formatMs(245_000)).toBe('4 min 05 s');
  });
});
