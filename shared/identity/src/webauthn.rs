//! WebAuthn relying-party verification (registration and assertion), pure and clock-free.
//!
//! Parsing and crypto come from maintained crates, never hand-rolled: CBOR via `ciborium`, COSE
//! keys via `coset`, ES256 via `p256`, RS256 via `rsa` (PKCS#1 v1.5, SHA-256), EdDSA via
//! `ed25519-compact`. Attestation statements are not verified (the server asks for attestation
//! `"none"`); everything else a relying party must check is: the client data's type, challenge
//! and origin, the RP ID hash, the user-present and user-verified flags, the algorithm, the
//! signature over `authenticatorData ‖ SHA-256(clientDataJSON)`, and the sign counter.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use coset::cbor::value::Value as Cbor;
use coset::iana::{self, EnumI64};
use coset::{AsCborValue, CoseKey, KeyType, Label, RegisteredLabelWithPrivate};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// COSE algorithm ids this relying party accepts, in preference order (ES256, EdDSA, RS256).
pub const SUPPORTED_ALGS: [i64; 3] = [-7, -8, -257];

/// Authenticator-data flag: user present.
pub const FLAG_UP: u8 = 0x01;
/// Authenticator-data flag: user verified.
pub const FLAG_UV: u8 = 0x04;
/// Authenticator-data flag: backup eligible (a multi-device credential).
pub const FLAG_BE: u8 = 0x08;
/// Authenticator-data flag: backed up.
pub const FLAG_BS: u8 = 0x10;
/// Authenticator-data flag: attested credential data included.
pub const FLAG_AT: u8 = 0x40;
/// Authenticator-data flag: extension data included.
pub const FLAG_ED: u8 = 0x80;

/// The relying party: its RP ID (a registrable domain, `localhost` in development) and the
/// exact origins (`scheme://host[:port]`) its pages are served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// From the configuration values: `rp_id`, and `origins` comma- or space-separated.
    pub fn from_config(rp_id: &str, origins: &str) -> RelyingParty {
        RelyingParty {
            id: rp_id.trim().to_owned(),
            name: "DBackup".to_owned(),
            origins: origins
                .split([',', ' '])
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }
}

/// Why a registration or an assertion was refused. Each is a short, loggable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebauthnError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("clientDataJSON type is {0:?}")]
    WrongType(String),
    #[error("challenge mismatch")]
    WrongChallenge,
    #[error("origin {0:?} is not allowed")]
    WrongOrigin(String),
    #[error("cross-origin request")]
    CrossOrigin,
    #[error("RP ID hash mismatch")]
    WrongRpId,
    #[error("user not present")]
    UserNotPresent,
    #[error("user not verified")]
    UserNotVerified,
    #[error("no attested credential data")]
    NoCredentialData,
    #[error("unsupported key or algorithm: {0}")]
    UnsupportedKey(String),
    #[error("bad signature")]
    BadSignature,
    #[error("sign counter went backwards ({stored} stored, {received} received)")]
    CounterRegression { stored: u32, received: u32 },
}

/// `base64url` without padding (what WebAuthn uses for binary fields in JSON).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes `base64url` (padding tolerated).
pub fn from_b64url(s: &str, what: &'static str) -> Result<Vec<u8>, WebauthnError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| WebauthnError::Malformed(what))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(default)]
    cross_origin: bool,
}

/// Checks `clientDataJSON`: its `type`, that its challenge is `challenge` (base64url), that its
/// origin is one of the RP's and that it is not cross-origin.
pub fn check_client_data(
    rp: &RelyingParty,
    client_data_json: &[u8],
    expected_type: &str,
    challenge: &str,
) -> Result<(), WebauthnError> {
    let cd: ClientData = serde_json::from_slice(client_data_json)
        .map_err(|_| WebauthnError::Malformed("clientDataJSON"))?;
    if cd.kind != expected_type {
        return Err(WebauthnError::WrongType(cd.kind));
    }
    let got = from_b64url(&cd.challenge, "challenge")?;
    let want = from_b64url(challenge, "challenge")?;
    if got.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(&got[..], &want[..])) {
        return Err(WebauthnError::WrongChallenge);
    }
    if !rp.origins.contains(&cd.origin) {
        return Err(WebauthnError::WrongOrigin(cd.origin));
    }
    if cd.cross_origin {
        return Err(WebauthnError::CrossOrigin);
    }
    Ok(())
}

/// The challenge a `clientDataJSON` carries (base64url), to find its server-side record.
pub fn client_data_challenge(client_data_json: &[u8]) -> Result<String, WebauthnError> {
    let cd: ClientData = serde_json::from_slice(client_data_json)
        .map_err(|_| WebauthnError::Malformed("clientDataJSON"))?;
    Ok(cd.challenge)
}

/// Attested credential data from registration authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    /// The credential public key, exactly as the authenticator encoded it (a COSE_Key).
    pub public_key: Vec<u8>,
}

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential>,
}

impl AuthData {
    /// Parses authenticator data (WebAuthn §6.1); the COSE key's length is found by decoding
    /// it with `ciborium`.
    pub fn parse(bytes: &[u8]) -> Result<AuthData, WebauthnError> {
        let bad = WebauthnError::Malformed("authenticatorData");
        if bytes.len() < 37 {
            return Err(bad);
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&bytes[..32]);
        let flags = bytes[32];
        let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
        let mut rest = &bytes[37..];
        let attested = if flags & FLAG_AT != 0 {
            if rest.len() < 18 {
                return Err(bad);
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if len == 0 || len > 1023 || rest.len() < len {
                return Err(bad);
            }
            let credential_id = rest[..len].to_vec();
            rest = &rest[len..];
            let before = rest.len();
            let mut reader = rest;
            let _: Cbor = coset::cbor::de::from_reader(&mut reader)
                .map_err(|_| WebauthnError::Malformed("credential public key"))?;
            let used = before - reader.len();
            let public_key = rest[..used].to_vec();
            rest = reader;
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key,
            })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let mut reader = rest;
            let _: Cbor = coset::cbor::de::from_reader(&mut reader)
                .map_err(|_| WebauthnError::Malformed("extensions"))?;
            rest = reader;
        }
        if !rest.is_empty() {
            return Err(bad);
        }
        Ok(AuthData {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    fn check(&self, rp: &RelyingParty) -> Result<(), WebauthnError> {
        let want: [u8; 32] = Sha256::digest(rp.id.as_bytes()).into();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &self.rp_id_hash[..],
            &want[..],
        )) {
            return Err(WebauthnError::WrongRpId);
        }
        if self.flags & FLAG_UP == 0 {
            return Err(WebauthnError::UserNotPresent);
        }
        if self.flags & FLAG_UV == 0 {
            return Err(WebauthnError::UserNotVerified);
        }
        Ok(())
    }
}

/// A public key ready to verify signatures.
enum PublicKey {
    Es256(p256::ecdsa::VerifyingKey),
    Rs256(Box<rsa::pkcs1v15::VerifyingKey<Sha256>>),
    EdDsa(ed25519_compact::PublicKey),
}

fn int_param(key: &CoseKey, label: i64) -> Option<&Cbor> {
    key.params
        .iter()
        .find(|(l, _)| *l == Label::Int(label))
        .map(|(_, v)| v)
}

fn bytes_param(key: &CoseKey, label: i64) -> Result<&[u8], WebauthnError> {
    match int_param(key, label) {
        Some(Cbor::Bytes(b)) => Ok(b),
        _ => Err(WebauthnError::UnsupportedKey(format!(
            "missing key parameter {label}"
        ))),
    }
}

/// Parses a COSE_Key into a verifier; returns it with its COSE algorithm id.
fn parse_public_key(cose: &[u8]) -> Result<(PublicKey, i64), WebauthnError> {
    let value: Cbor = coset::cbor::de::from_reader(cose)
        .map_err(|_| WebauthnError::Malformed("credential public key"))?;
    let key = CoseKey::from_cbor_value(value)
        .map_err(|e| WebauthnError::UnsupportedKey(format!("COSE key: {e:?}")))?;
    let alg = match &key.alg {
        Some(RegisteredLabelWithPrivate::Assigned(a)) => a.to_i64(),
        Some(RegisteredLabelWithPrivate::PrivateUse(a)) => *a,
        _ => return Err(WebauthnError::UnsupportedKey("no algorithm".into())),
    };
    let kty = match &key.kty {
        KeyType::Assigned(k) => *k,
        _ => return Err(WebauthnError::UnsupportedKey("key type".into())),
    };
    let crv = match int_param(&key, -1) {
        Some(Cbor::Integer(i)) => i64::try_from(*i).ok(),
        _ => None,
    };
    let unsupported = || WebauthnError::UnsupportedKey(format!("kty {kty:?} alg {alg}"));
    match (kty, alg) {
        (iana::KeyType::EC2, -7) if crv == Some(iana::EllipticCurve::P_256.to_i64()) => {
            let (x, y) = (bytes_param(&key, -2)?, bytes_param(&key, -3)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(unsupported());
            }
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(0x04);
            sec1.extend_from_slice(x);
            sec1.extend_from_slice(y);
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map_err(|_| WebauthnError::UnsupportedKey("not a P-256 point".into()))?;
            Ok((PublicKey::Es256(vk), alg))
        }
        (iana::KeyType::RSA, -257) => {
            let n = rsa::BigUint::from_bytes_be(bytes_param(&key, -1)?);
            let e = rsa::BigUint::from_bytes_be(bytes_param(&key, -2)?);
            let pk = rsa::RsaPublicKey::new(n, e)
                .map_err(|e| WebauthnError::UnsupportedKey(format!("RSA key: {e}")))?;
            if rsa::traits::PublicKeyParts::size(&pk) < 256 {
                return Err(WebauthnError::UnsupportedKey(
                    "RSA keys under 2048 bits".into(),
                ));
            }
            Ok((
                PublicKey::Rs256(Box::new(rsa::pkcs1v15::VerifyingKey::new(pk))),
                alg,
            ))
        }
        (iana::KeyType::OKP, -8) if crv == Some(iana::EllipticCurve::Ed25519.to_i64()) => {
            let pk = ed25519_compact::PublicKey::from_slice(bytes_param(&key, -2)?)
                .map_err(|_| WebauthnError::UnsupportedKey("Ed25519 key".into()))?;
            Ok((PublicKey::EdDsa(pk), alg))
        }
        _ => Err(unsupported()),
    }
}

fn verify_signature(key: &PublicKey, message: &[u8], sig: &[u8]) -> Result<(), WebauthnError> {
    use p256::ecdsa::signature::Verifier;
    let ok = match key {
        PublicKey::Es256(vk) => p256::ecdsa::Signature::from_der(sig)
            .ok()
            .is_some_and(|s| vk.verify(message, &s).is_ok()),
        PublicKey::Rs256(vk) => rsa::pkcs1v15::Signature::try_from(sig)
            .ok()
            .is_some_and(|s| vk.verify(message, &s).is_ok()),
        PublicKey::EdDsa(pk) => ed25519_compact::Signature::from_slice(sig)
            .ok()
            .is_some_and(|s| pk.verify(message, &s).is_ok()),
    };
    if ok {
        Ok(())
    } else {
        Err(WebauthnError::BadSignature)
    }
}

/// A credential accepted at registration: what the server stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    /// COSE_Key bytes.
    pub public_key: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    /// `multiDevice` when backup-eligible, else `singleDevice`.
    pub device_type: &'static str,
    pub backed_up: bool,
}

/// Verifies a registration (`navigator.credentials.create`) against the challenge issued for it.
pub fn verify_registration(
    rp: &RelyingParty,
    challenge: &str,
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<NewCredential, WebauthnError> {
    check_client_data(rp, client_data_json, "webauthn.create", challenge)?;
    let att: Cbor = coset::cbor::de::from_reader(attestation_object)
        .map_err(|_| WebauthnError::Malformed("attestationObject"))?;
    let Cbor::Map(entries) = att else {
        return Err(WebauthnError::Malformed("attestationObject"));
    };
    let auth_data = entries
        .iter()
        .find_map(|(k, v)| match (k, v) {
            (Cbor::Text(k), Cbor::Bytes(b)) if k == "authData" => Some(b),
            _ => None,
        })
        .ok_or(WebauthnError::Malformed("attestationObject"))?;
    let data = AuthData::parse(auth_data)?;
    data.check(rp)?;
    let attested = data.attested.ok_or(WebauthnError::NoCredentialData)?;
    let (_, alg) = parse_public_key(&attested.public_key)?;
    Ok(NewCredential {
        credential_id: attested.credential_id,
        public_key: attested.public_key,
        alg,
        sign_count: data.sign_count,
        aaguid: attested.aaguid,
        device_type: if data.flags & FLAG_BE != 0 {
            "multiDevice"
        } else {
            "singleDevice"
        },
        backed_up: data.flags & FLAG_BS != 0,
    })
}

/// An accepted assertion: the new counter and backup state to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub sign_count: u32,
    pub backed_up: bool,
}

/// Verifies an assertion (`navigator.credentials.get`) by the stored credential
/// (`public_key`, `stored_count`) against the challenge issued for it. A counter that does not
/// increase (unless both are 0: authenticators without counters) is
/// [`WebauthnError::CounterRegression`], a sign of a cloned authenticator.
pub fn verify_assertion(
    rp: &RelyingParty,
    challenge: &str,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    public_key: &[u8],
    stored_count: u32,
) -> Result<VerifiedAssertion, WebauthnError> {
    check_client_data(rp, client_data_json, "webauthn.get", challenge)?;
    let data = AuthData::parse(authenticator_data)?;
    data.check(rp)?;
    let (key, _) = parse_public_key(public_key)?;
    let mut message = authenticator_data.to_vec();
    message.extend_from_slice(&Sha256::digest(client_data_json));
    verify_signature(&key, &message, signature)?;
    if (data.sign_count != 0 || stored_count != 0) && data.sign_count <= stored_count {
        return Err(WebauthnError::CounterRegression {
            stored: stored_count,
            received: data.sign_count,
        });
    }
    Ok(VerifiedAssertion {
        sign_count: data.sign_count,
        backed_up: data.flags & FLAG_BS != 0,
    })
}

/// The COSE algorithm of a stored public key (for listing), if it parses.
pub fn key_algorithm(public_key: &[u8]) -> Option<i64> {
    parse_public_key(public_key).ok().map(|(_, alg)| alg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webauthn_authenticator::{Alg, SoftAuthenticator};
    use serde_json::Value;

    const ORIGIN: &str = "http://localhost:3000";
    const CHALLENGE: &str = "c2VydmVyLWNoYWxsZW5nZS0wMTIzNDU2Nzg5YWJjZGVm";

    fn rp() -> RelyingParty {
        RelyingParty::from_config("localhost", "http://localhost:3000, https://backup.example")
    }

    fn field(v: &Value, name: &str) -> Vec<u8> {
        from_b64url(v["response"][name].as_str().unwrap(), "test").unwrap()
    }

    fn register(a: &SoftAuthenticator) -> Result<NewCredential, WebauthnError> {
        let r = a.register(CHALLENGE);
        verify_registration(
            &rp(),
            CHALLENGE,
            &field(&r, "clientDataJSON"),
            &field(&r, "attestationObject"),
        )
    }

    fn assert_with(
        a: &mut SoftAuthenticator,
        cred: &NewCredential,
        stored: u32,
        tamper: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>, &mut Vec<u8>),
    ) -> Result<VerifiedAssertion, WebauthnError> {
        let r = a.assert(CHALLENGE);
        let (mut cd, mut ad, mut sig) = (
            field(&r, "clientDataJSON"),
            field(&r, "authenticatorData"),
            field(&r, "signature"),
        );
        tamper(&mut cd, &mut ad, &mut sig);
        verify_assertion(&rp(), CHALLENGE, &cd, &ad, &sig, &cred.public_key, stored)
    }

    #[test]
    fn config_splits_origins() {
        assert_eq!(
            rp().origins,
            vec!["http://localhost:3000", "https://backup.example"]
        );
    }

    #[test]
    fn each_algorithm_registers_and_signs_in() {
        for (alg, id) in [(Alg::Es256, -7), (Alg::Rs256, -257), (Alg::EdDsa, -8)] {
            let mut a = SoftAuthenticator::new(alg, "localhost", ORIGIN, b"user-1");
            let cred = register(&a).unwrap();
            assert_eq!(cred.alg, id);
            assert_eq!(cred.credential_id, a.credential_id);
            assert_eq!(cred.device_type, "singleDevice");
            assert_eq!(key_algorithm(&cred.public_key), Some(id));
            let ok = assert_with(&mut a, &cred, 0, |_, _, _| {}).unwrap();
            assert_eq!(ok.sign_count, 1, "{alg:?}");
            // A flipped signature bit fails for every algorithm.
            let bad = assert_with(&mut a, &cred, 1, |_, _, sig| {
                let last = sig.len() - 1;
                sig[last] ^= 1;
            });
            assert_eq!(bad, Err(WebauthnError::BadSignature), "{alg:?}");
            // Signed data altered after signing (the counter byte).
            let bad = assert_with(&mut a, &cred, 1, |_, ad, _| ad[36] ^= 0x40);
            assert_eq!(bad, Err(WebauthnError::BadSignature), "{alg:?}");
        }
    }

    #[test]
    fn registration_checks() {
        let mut a = SoftAuthenticator::new(Alg::Es256, "localhost", "http://evil.example", b"u");
        assert_eq!(
            register(&a),
            Err(WebauthnError::WrongOrigin("http://evil.example".into()))
        );
        a.origin = ORIGIN.into();
        a.rp_id = "evil.example".into();
        assert_eq!(register(&a), Err(WebauthnError::WrongRpId));
        a.rp_id = "localhost".into();
        a.user_verified = false;
        assert_eq!(register(&a), Err(WebauthnError::UserNotVerified));
        a.user_verified = true;
        let r = a.register(CHALLENGE);
        let other = "b3RoZXItY2hhbGxlbmdl";
        assert_eq!(
            verify_registration(
                &rp(),
                other,
                &field(&r, "clientDataJSON"),
                &field(&r, "attestationObject")
            ),
            Err(WebauthnError::WrongChallenge)
        );
        // An assertion's client data is not a registration.
        let g = a.assert(CHALLENGE);
        assert_eq!(
            verify_registration(
                &rp(),
                CHALLENGE,
                &field(&g, "clientDataJSON"),
                &field(&r, "attestationObject")
            ),
            Err(WebauthnError::WrongType("webauthn.get".into()))
        );
        assert!(matches!(
            verify_registration(&rp(), CHALLENGE, &field(&r, "clientDataJSON"), b"\xa0"),
            Err(WebauthnError::Malformed(_))
        ));
        assert!(matches!(
            verify_registration(
                &rp(),
                CHALLENGE,
                b"not json",
                &field(&r, "attestationObject")
            ),
            Err(WebauthnError::Malformed(_))
        ));
    }

    #[test]
    fn assertion_checks() {
        let mut a = SoftAuthenticator::new(Alg::EdDsa, "localhost", ORIGIN, b"u");
        let cred = register(&a).unwrap();
        a.user_verified = false;
        assert_eq!(
            assert_with(&mut a, &cred, 0, |_, _, _| {}),
            Err(WebauthnError::UserNotVerified)
        );
        a.user_verified = true;
        a.origin = "https://localhost:3000".into();
        assert!(matches!(
            assert_with(&mut a, &cred, 0, |_, _, _| {}),
            Err(WebauthnError::WrongOrigin(_))
        ));
        a.origin = ORIGIN.into();
        a.rp_id = "example.com".into();
        assert_eq!(
            assert_with(&mut a, &cred, 0, |_, _, _| {}),
            Err(WebauthnError::WrongRpId)
        );
        a.rp_id = "localhost".into();
        // The counter: equal or lower than stored is refused, higher accepted.
        a.counter = 9;
        assert_eq!(
            assert_with(&mut a, &cred, 10, |_, _, _| {}),
            Err(WebauthnError::CounterRegression {
                stored: 10,
                received: 10
            })
        );
        assert_eq!(
            assert_with(&mut a, &cred, 10, |_, _, _| {})
                .unwrap()
                .sign_count,
            11
        );
        // Trailing bytes after authenticator data are malformed.
        assert!(matches!(
            assert_with(&mut a, &cred, 0, |_, ad, _| ad.push(0)),
            Err(WebauthnError::Malformed(_))
        ));
    }

    /// A response recorded once from the software authenticator (Ed25519, fixed seed): the
    /// verifier must keep accepting it, and reject each tampered variant.
    #[test]
    fn recorded_vectors() {
        let key = from_b64url(RECORDED_KEY, "k").unwrap();
        let cd = from_b64url(RECORDED_CLIENT_DATA, "cd").unwrap();
        let ad = from_b64url(RECORDED_AUTH_DATA, "ad").unwrap();
        let sig = from_b64url(RECORDED_SIG, "sig").unwrap();
        let ok = verify_assertion(&rp(), CHALLENGE, &cd, &ad, &sig, &key, 0).unwrap();
        assert_eq!(ok.sign_count, 1);
        let mut bad_sig = sig.clone();
        bad_sig[0] ^= 0x80;
        assert_eq!(
            verify_assertion(&rp(), CHALLENGE, &cd, &ad, &bad_sig, &key, 0),
            Err(WebauthnError::BadSignature)
        );
        let mut bad_ad = ad.clone();
        bad_ad[0] ^= 1;
        assert_eq!(
            verify_assertion(&rp(), CHALLENGE, &cd, &bad_ad, &sig, &key, 0),
            Err(WebauthnError::WrongRpId)
        );
        assert_eq!(
            verify_assertion(&rp(), "b3RoZXI", &cd, &ad, &sig, &key, 0),
            Err(WebauthnError::WrongChallenge)
        );
        assert_eq!(
            verify_assertion(&rp(), CHALLENGE, &cd, &ad, &sig, &key, 1),
            Err(WebauthnError::CounterRegression {
                stored: 1,
                received: 1
            })
        );
    }

    const RECORDED_KEY: &str = "pAEBAycgBiFYIPgCJN9j64AXFG3nmvZzeBbxH57KKK13xrTz9NTQOBRT";
    const RECORDED_CLIENT_DATA: &str =
        "eyJjaGFsbGVuZ2UiOiJjMlZ5ZG1WeUxXTm9ZV3hzWlc1blpTMHdNVEl6TkRVMk56ZzVZV0pqWkdWbSIsImNyb3NzT3JpZ2luIjpmYWxzZSwib3JpZ2luIjoiaHR0cDovL2xvY2FsaG9zdDozMDAwIiwidHlwZSI6IndlYmF1dGhuLmdldCJ9";
    const RECORDED_AUTH_DATA: &str = "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ";
    const RECORDED_SIG: &str =
        "dTMkzx8F0RRwE4JNnxyBm4xRq1aMS1F_5DCz4kT9Fk_ll7LP_B-JquuSLJkVbY09g1LtK85LNcZcphIvKJOoAw";
}
