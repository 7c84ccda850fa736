// The compression trade-off shown in the job form, measured by `cargo xtask bench pipeline`
// (docs/BENCH.md, "Idle machine", run 1: a 200 MB PostgreSQL data set, 165 MB as a plain
// custom-format dump, backed up by the release worker to a local folder). ZSTD level 3 is the
// default: as fast as no compression and the smallest.

export type CompressionName = 'NONE' | 'GZIP' | 'ZSTD' | 'BROTLI';

export interface CompressionRow {
  compression: CompressionName;
  label: string;
  /** Wall time of the backup, seconds (null: not measured). */
  seconds: number | null;
  /** Stored size, MB. */
  storedMb: number | null;
  /** The worker's CPU time, seconds. */
  cpuSeconds: number | null;
}

export const DUMP_MB = 165;

export const COMPRESSION_TABLE: CompressionRow[] = [
  { compression: 'ZSTD', label: 'ZSTD level 3 (default)', seconds: 1.9, storedMb: 45, cpuSeconds: 1.22 },
  { compression: 'GZIP', label: 'GZIP level 6', seconds: 3.48, storedMb: 50, cpuSeconds: 3.19 },
  { compression: 'NONE', label: 'None', seconds: 1.87, storedMb: 165, cpuSeconds: 0.31 },
  { compression: 'BROTLI', label: 'Brotli', seconds: null, storedMb: null, cpuSeconds: null },
];

/** One line for the selected compression, compared with the default. */
export function compressionHint(c: string): string {
  const row = COMPRESSION_TABLE.find((r) => r.compression === c);
  const zstd = COMPRESSION_TABLE[0];
  if (!row || row.seconds === null || row.storedMb === null) {
    return `Not measured in docs/BENCH.md. ZSTD level 3 stores a ${DUMP_MB} MB dump in ${zstd.storedMb} MB in ${zstd.seconds} s.`;
  }
  const ratio = (DUMP_MB / row.storedMb).toFixed(1);
  const base = `${DUMP_MB} MB dump → ${row.storedMb} MB (${ratio}×) in ${row.seconds} s, ${row.cpuSeconds} CPU-s`;
  if (row.compression === 'ZSTD') return `${base}: the fastest and smallest measured.`;
  const slower = row.seconds / (zstd.seconds ?? row.seconds);
  const larger = row.storedMb / (zstd.storedMb ?? row.storedMb);
  const parts = [];
  if (slower >= 1.1) parts.push(`${slower.toFixed(1)}× ZSTD's time`);
  if (larger >= 1.05) parts.push(`${larger.toFixed(1)}× its size`);
  return parts.length ? `${base} — ${parts.join(', ')}.` : `${base}.`;
}
