import { describe, expect, it } from 'vitest';
import { COMPRESSION_TABLE, compressionHint } from './compression';

describe('compression hint (docs/BENCH.md numbers)', () => {
  it('calls ZSTD-3 the fastest and smallest', () => {
    expect(compressionHint('ZSTD')).toBe('165 MB dump → 45 MB (3.7×) in 1.9 s, 1.22 CPU-s: the fastest and smallest measured.');
  });
  it('compares GZIP and NONE with ZSTD', () => {
    expect(compressionHint('GZIP')).toBe('165 MB dump → 50 MB (3.3×) in 3.48 s, 3.19 CPU-s — 1.8× ZSTD\'s time, 1.1× its size.');
    expect(compressionHint('NONE')).toBe('165 MB dump → 165 MB (1.0×) in 1.87 s, 0.31 CPU-s — 3.7× its size.');
  });
  it('says when a choice was not measured', () => {
    expect(compressionHint('BROTLI')).toMatch(/^Not measured/);
    expect(compressionHint('LZ4')).toMatch(/^Not measured/);
  });
  it('lists ZSTD first', () => {
    expect(COMPRESSION_TABLE[0].compression).toBe('ZSTD');
  });
});
