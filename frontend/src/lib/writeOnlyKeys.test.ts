import { describe, expect, it } from 'vitest';
import { generateKeyPair, keyFileContent, parsePrivateKey, parsePublicKey, publicKeyOf, x25519Supported } from './writeOnlyKeys';

// Node's WebCrypto (globalThis.crypto), the same API as the browser's.
const subtle = globalThis.crypto.subtle;

describe('write-only profile keys', () => {
  it('generates an X25519 pair whose private key gives back its public key', async () => {
    expect(await x25519Supported(subtle)).toBe(true);
    const pair = await generateKeyPair(subtle);
    expect(pair.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(pair.privateKey).toMatch(/^[0-9a-f]{64}$/);
    expect(await publicKeyOf(pair.privateKey, subtle)).toBe(pair.publicKey);
    expect((await generateKeyPair(subtle)).privateKey).not.toBe(pair.privateKey);
  });

  it('agrees with RFC 7748 (the same X25519 as the worker and dbackup-recover)', async () => {
    // RFC 7748 §6.1, Alice.
    expect(await publicKeyOf('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', subtle)).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
  });

  it('reads keys as pasted or from the downloaded file', () => {
    const pair = { publicKey: 'ab'.repeat(32), privateKey: 'cd'.repeat(32) };
    expect(parsePrivateKey(keyFileContent(pair, 'p'))).toBe(pair.privateKey);
    expect(parsePublicKey(keyFileContent(pair, 'p'))).toBe(pair.publicKey);
    expect(parsePrivateKey(`  ${'CD'.repeat(32)}\n`)).toBe(pair.privateKey);
    expect(parsePrivateKey('abcd')).toBeNull();
    expect(parsePrivateKey('{not json')).toBeNull();
    expect(parsePublicKey('00'.repeat(32))).toBeNull();
  });
});
