import { describe, expect, it } from 'vitest';
import { creationOptions, credentialToJSON, fromBase64url, requestOptions, toBase64url } from './webauthn';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('base64url', () => {
  it('encodes without padding and with the URL alphabet', () => {
    expect(toBase64url(bytes())).toBe('');
    expect(toBase64url(bytes(0xfb, 0xff))).toBe('-_8');
    expect(toBase64url(bytes(0x66, 0x6f, 0x6f))).toBe('Zm9v');
    expect(toBase64url(new TextEncoder().encode('hello'))).toBe('aGVsbG8');
  });
  it('decodes with or without padding, and plain base64', () => {
    expect([...fromBase64url('-_8')]).toEqual([0xfb, 0xff]);
    expect([...fromBase64url('-_8=')]).toEqual([0xfb, 0xff]);
    expect([...fromBase64url('+/8=')]).toEqual([0xfb, 0xff]);
    expect(new TextDecoder().decode(fromBase64url('aGVsbG8'))).toBe('hello');
  });
  it('round-trips every byte value and length', () => {
    for (let n = 0; n < 40; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      expect([...fromBase64url(toBase64url(b))]).toEqual([...b]);
    }
    const all = new Uint8Array(256).map((_, i) => i);
    expect([...fromBase64url(toBase64url(all.buffer))]).toEqual([...all]);
  });
  it('encodes a view of part of a buffer only', () => {
    const buf = bytes(1, 2, 3, 4, 5);
    expect(toBase64url(buf.subarray(1, 3))).toBe(toBase64url(bytes(2, 3)));
  });
  it('refuses invalid input', () => {
    expect(() => fromBase64url('a')).toThrow();
    expect(() => fromBase64url('ab$c')).toThrow();
  });
});

describe('options', () => {
  it('converts creation options', () => {
    const o = creationOptions({
      challenge: 'AAEC',
      rp: { id: 'localhost', name: 'dbackup' },
      user: { id: 'dXNlcg', name: 'a@b.c', displayName: 'A' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      attestation: 'none',
      excludeCredentials: [{ type: 'public-key', id: '-_8', transports: ['internal'] }],
    });
    expect([...(o.challenge as Uint8Array)]).toEqual([0, 1, 2]);
    expect(new TextDecoder().decode(o.user.id as Uint8Array)).toBe('user');
    expect(o.excludeCredentials?.[0].transports).toEqual(['internal']);
    expect([...(o.excludeCredentials?.[0].id as Uint8Array)]).toEqual([0xfb, 0xff]);
    expect(o.pubKeyCredParams).toEqual([{ type: 'public-key', alg: -7 }]);
  });
  it('converts request options; empty allowCredentials stays empty (discoverable)', () => {
    const o = requestOptions({ challenge: 'AAEC', rpId: 'localhost', userVerification: 'required', allowCredentials: [] });
    expect(o.allowCredentials).toEqual([]);
    expect(o.rpId).toBe('localhost');
    expect(requestOptions({ challenge: '' }).allowCredentials).toEqual([]);
  });
});

describe('credentialToJSON', () => {
  const ab = (...b: number[]) => bytes(...b).buffer;
  it('serialises an attestation with its transports', () => {
    const j = credentialToJSON({
      id: '-_8',
      rawId: ab(0xfb, 0xff),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: { clientDataJSON: ab(0x7b, 0x7d), attestationObject: ab(1, 2, 3), getTransports: () => ['internal'] },
    });
    expect(j).toEqual({
      id: '-_8',
      rawId: '-_8',
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: { clientDataJSON: 'e30', attestationObject: 'AQID', transports: ['internal'] },
    });
  });
  it('serialises an assertion; a missing user handle is null', () => {
    const j = credentialToJSON({
      id: 'x',
      rawId: ab(1),
      type: 'public-key',
      response: { clientDataJSON: ab(0x7b, 0x7d), authenticatorData: ab(9), signature: ab(8, 7), userHandle: null },
    });
    expect(j.response).toEqual({ clientDataJSON: 'e30', authenticatorData: 'CQ', signature: 'CAc', userHandle: null });
    expect(j.authenticatorAttachment).toBeNull();
  });
});
