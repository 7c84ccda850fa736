import { describe, expect, it } from 'vitest';
import { detailsText, errorFrom, fileNameOf, itemsOf, query } from './client';

describe('errorFrom', () => {
  it('reads the server error body', () => {
    const e = errorFrom(400, '{"error":"invalid email","details":{"field":"email"}}', null);
    expect(e.status).toBe(400);
    expect(e.message).toBe('invalid email');
    expect(e.details).toEqual({ field: 'email' });
    expect(e.retryAfterSecs).toBeNull();
    expect(detailsText(e.details)).toBe('field: email');
  });

  it('takes the lockout wait from details, else Retry-After', () => {
    const body = '{"error":"too many failed attempts, try again later","details":{"retryAfterSecs":30}}';
    expect(errorFrom(429, body, '99').retryAfterSecs).toBe(30);
    expect(errorFrom(429, '{"error":"locked"}', '45').retryAfterSecs).toBe(45);
    expect(detailsText({ retryAfterSecs: 30 })).toBeNull();
  });

  it('survives bodies that are not JSON', () => {
    expect(errorFrom(502, 'Bad Gateway', null).message).toBe('Bad Gateway');
    expect(errorFrom(500, '', null).message).toBe('HTTP 500');
  });

  it('flags missing APIs', () => {
    expect(errorFrom(404, '{"error":"not found"}', null).notAvailable).toBe(true);
    expect(errorFrom(403, '{"error":"forbidden"}', null).notAvailable).toBe(false);
  });
});

describe('helpers', () => {
  it('builds query strings from defined values', () => {
    expect(query({ a: 'x y', b: undefined, c: '', d: 0 })).toBe('?a=x+y&d=0');
    expect(query({})).toBe('');
  });
  it('accepts arrays and pages', () => {
    expect(itemsOf([1, 2])).toEqual([1, 2]);
    expect(itemsOf({ items: [3] })).toEqual([3]);
    expect(itemsOf(undefined)).toEqual([]);
  });
});

describe('fileNameOf (downloads)', () => {
  it('reads the plain and the RFC 5987 file name', () => {
    expect(fileNameOf('attachment; filename="dbackup-recovery-kit_Offsite.zip"')).toBe('dbackup-recovery-kit_Offsite.zip');
    expect(fileNameOf("attachment; filename*=UTF-8''kit%20%C3%A9.zip")).toBe('kit é.zip');
    expect(fileNameOf('attachment; filename=plain.zip')).toBe('plain.zip');
    expect(fileNameOf('inline')).toBeNull();
    expect(fileNameOf(null)).toBeNull();
  });
});
