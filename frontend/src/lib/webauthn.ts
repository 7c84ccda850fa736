/**
 * WebAuthn ceremonies with the server's JSON options: base64url ⇄ bytes, the options as the
 * browser wants them (ArrayBuffers), and the credential back as `PublicKeyCredential.toJSON()`
 * form (binary fields base64url), which the server expects. Written out rather than relying on
 * `parseCreationOptionsFromJSON`/`toJSON`, which not every browser has yet.
 */

/** Bytes → base64url without padding. */
export function toBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const u8 =
    bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let bin = '';
  for (let i = 0; i < u8.length; i++) bin += String.fromCharCode(u8[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url (padding optional; plain base64 accepted too) → bytes. Throws on invalid input. */
export function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(b64) || b64.length % 4 === 1) throw new Error('invalid base64url');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A credential descriptor as the server sends it. */
export interface DescriptorJSON {
  type: 'public-key' | string;
  id: string;
  transports?: string[];
}

/** `PublicKeyCredentialCreationOptions` in JSON form (`POST /api/auth/passkeys/register/options`). */
export interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  pubKeyCredParams: { type: string; alg: number }[];
  timeout?: number;
  attestation?: string;
  authenticatorSelection?: Record<string, unknown>;
  excludeCredentials?: DescriptorJSON[];
}

/** `PublicKeyCredentialRequestOptions` in JSON form (`POST /api/auth/passkeys/login/options`). */
export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  timeout?: number;
  userVerification?: string;
  allowCredentials?: DescriptorJSON[];
}

const descriptor = (d: DescriptorJSON): PublicKeyCredentialDescriptor => ({
  type: 'public-key',
  id: fromBase64url(d.id),
  ...(d.transports?.length ? { transports: d.transports as AuthenticatorTransport[] } : {}),
});

/** The server's creation options → what `navigator.credentials.create` takes. */
export function creationOptions(o: CreationOptionsJSON): PublicKeyCredentialCreationOptions {
  return {
    challenge: fromBase64url(o.challenge),
    rp: o.rp,
    user: { id: fromBase64url(o.user.id), name: o.user.name, displayName: o.user.displayName },
    pubKeyCredParams: o.pubKeyCredParams.map((p) => ({ type: 'public-key', alg: p.alg })),
    timeout: o.timeout,
    attestation: o.attestation as AttestationConveyancePreference | undefined,
    authenticatorSelection: o.authenticatorSelection as AuthenticatorSelectionCriteria | undefined,
    excludeCredentials: (o.excludeCredentials ?? []).map(descriptor),
  };
}

/** The server's request options → what `navigator.credentials.get` takes. */
export function requestOptions(o: RequestOptionsJSON): PublicKeyCredentialRequestOptions {
  return {
    challenge: fromBase64url(o.challenge),
    rpId: o.rpId,
    timeout: o.timeout,
    userVerification: o.userVerification as UserVerificationRequirement | undefined,
    allowCredentials: (o.allowCredentials ?? []).map(descriptor),
  };
}

/** The fields of a credential this module reads (a structural subset of `PublicKeyCredential`). */
export interface CredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: {
    clientDataJSON: ArrayBuffer;
    attestationObject?: ArrayBuffer;
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
    getTransports?: () => string[];
  };
}

/** A credential as `toJSON()` would give it: binary fields base64url. */
export interface CredentialJSON {
  id: string;
  rawId: string;
  type: string;
  authenticatorAttachment?: string | null;
  clientExtensionResults: Record<string, unknown>;
  response: {
    clientDataJSON: string;
    attestationObject?: string;
    transports?: string[];
    authenticatorData?: string;
    signature?: string;
    userHandle?: string | null;
  };
}

/** Serialises an attestation (registration) or assertion (login) credential. */
export function credentialToJSON(c: CredentialLike): CredentialJSON {
  const r = c.response;
  const response: CredentialJSON['response'] = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  }
  if (r.authenticatorData) response.authenticatorData = toBase64url(r.authenticatorData);
  if (r.signature) response.signature = toBase64url(r.signature);
  if (r.userHandle !== undefined) response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
  return {
    id: c.id,
    rawId: toBase64url(c.rawId),
    type: c.type,
    authenticatorAttachment: c.authenticatorAttachment ?? null,
    clientExtensionResults: {},
    response,
  };
}

/** Whether this browser can do WebAuthn at all (a secure context with the API). */
export function passkeysSupported(): boolean {
  return typeof window !== 'undefined' && window.isSecureContext && typeof window.PublicKeyCredential === 'function';
}

/** Runs `navigator.credentials.create` with the server's options; the JSON credential. */
export async function createCredential(o: CreationOptionsJSON): Promise<CredentialJSON> {
  const c = await navigator.credentials.create({ publicKey: creationOptions(o) });
  if (!c) throw new Error('No passkey was created');
  return credentialToJSON(c as unknown as CredentialLike);
}

/** Runs `navigator.credentials.get` with the server's options; the JSON credential. */
export async function getCredential(o: RequestOptionsJSON): Promise<CredentialJSON> {
  const c = await navigator.credentials.get({ publicKey: requestOptions(o) });
  if (!c) throw new Error('No passkey was chosen');
  return credentialToJSON(c as unknown as CredentialLike);
}

/** A readable message for a failed browser ceremony (cancelled, timed out, not allowed…). */
export function ceremonyError(e: unknown): Error {
  const name = (e as { name?: string } | null)?.name;
  if (name === 'NotAllowedError') return new Error('The passkey request was cancelled or timed out.');
  if (name === 'InvalidStateError') return new Error('This passkey is already registered.');
  if (name === 'SecurityError') return new Error('Passkeys are not allowed on this address (check the WebAuthn origin / RP ID).');
  if (name === 'NotSupportedError') return new Error('This browser or authenticator does not support passkeys.');
  return e instanceof Error ? e : new Error(String(e));
}
