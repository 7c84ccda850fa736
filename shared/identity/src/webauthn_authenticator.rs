//! A software WebAuthn authenticator for tests (feature `soft-authenticator`): it creates
//! credentials and signs assertions with the same maintained crates the verifier uses (p256,
//! rsa, ed25519-compact, coset/ciborium), producing the JSON a browser's
//! `PublicKeyCredential.toJSON()` would send. Knobs let tests produce each kind of bad response.

use coset::cbor::value::Value as Cbor;
use coset::iana;
use coset::{CborSerializable, CoseKeyBuilder};
use p256::ecdsa::signature::Signer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::webauthn::{b64url, FLAG_AT, FLAG_UP, FLAG_UV};

/// A throwaway 2048-bit RSA key (generating one per test is slow in debug builds).
const TEST_RSA_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC41a4ekh7qzWvQ
KE/hIVcC5fW8zUaD0UnbKqN9cq5meef+W0Gzh7azwei65c2tZN0j6ShNihn6d/zU
cEFa5hwrqvSy7B5dTgitAnG1h7Pl/nO1w1tqSgPQYuVyIKiAfNstFjAdG/kgnBP3
cRzq9/6bglznE3c3p0Z8LgZTKNnhP2wmXj5tyqlPU8R0Ui0YCe9QvDlO6WS6tGIx
i/RIAqpq7HHh+VsGflxsvHxxsEGIv/+5MNg2nXogQ9L6a53xsA2XWxBeSRloAgvY
3LoB+BugMJHeseglfNzRWBBWsYm461wrD338yf5blCcwOM4PelcMAysGszQjxRHL
wJJVKTAPAgMBAAECggEATjRS3Kp0nGJYGJXF3nptx1MnG0A7crCNsEalMAHi2ob/
6rYP4XctjXchElsDIDdJ/dS78brZ7Qjxl6z7agtspelKaZ3P5yiKMTGUjPsi2dBE
gwZqWlmArZ36eMRqpxqs3bHCn75jNTH0nMBmPOC7AG8zAa5RxeFnyEjs8iiZr1yd
6RCUC3weMfYmsehMuQfaFfbM1KFn1g6hylHSRCIbjFdZctviyv/JODRJQj/nG6F6
e+RQbIUjUKqWvKOW6KwqBRZo0hZ/L2DTs+ze/Ez1/LIU002CzJWjje6ipqgpBHoo
Bi/XkCsJoYm72R2PPxIP8IJW+hg9ine4XRwdcx8msQKBgQD1doOOprAPvV5L+ysk
qyKv8nR7gu0vp2SkgXCDgaZ4foKMlX5kqW6QH5qthC2aJn70Y678R3F5L6yrXaUk
UQ0yN33nhmuJ6OWH83r8xVfp7eZU2oO90zmYSo/P0EFf91KCsxJK95sfxS6wo17b
agfPIkskyp4jb1OEA9mKtsjy1wKBgQDAxOYwX2WfsLxhu9iUu8csexqwqiWeZGmC
bUKk8k1QzRSZ6nMZh7MwDjEAEN5FYQL04xglupbZfgway8YCKQXgD+ZWU2O4c6dz
NNtKlJTfbm6/NvRTFwP/gE8HGRyt4buYS5xt98Ncuyo1CjF+Wf1bB6gFO82l8j3Y
hGa+Ng49iQKBgHI3XknfeCcqx5j1W4Lpeu+CEv9x0aoN6v+9Fzyp9Gs2+sotua1f
RYocmp3I1mtXJFXVmJPdLojkTSVEIta+PDS0q4oy+xEl5MAY5I5/yUOZpkavkwOe
KLubXkWlsvXToHoelxF5G55x4yLgMgBI2y9f1rVc7q6wW50fKXepS+HrAoGABIeb
8R8MwEfi5VkIqdYPxBfQdL5KzAIICKyQmFepQXDQPx2nPr5Vk5eBx0KeNnslGqQL
eTd9O/ceSbLoIDzeinlVLEohWcA9+xMO5B3Bsc5ig9PCwgEUcviM4tnQNrXLNrTw
JBViXdd4Em7+4r0ymuT/KcBSAMhEc8YItAeJJiECgYAemCnD9d466ursXn8ZyCEV
eH+gJ30tazPht1GC4asX4IivJ6ej8ph+3zty3cMLbdtGJ3vmpjIaMXr0DHv1fu+p
OcAsVpe9RHW0rZq+/TrAXrcVumK7yuOR5Z68S7YZ3kSCb9pA3wrg6zLd2Uk/9xe1
DR2LrsMvdujj7ptzDytp9g==
-----END PRIVATE KEY-----
";

/// The signature algorithm of a [`SoftAuthenticator`] credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Rs256,
    EdDsa,
}

enum Key {
    Es256(p256::ecdsa::SigningKey),
    Rs256(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
    EdDsa(ed25519_compact::KeyPair),
}

/// One resident credential on a software authenticator.
pub struct SoftAuthenticator {
    key: Key,
    alg: Alg,
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The user handle stored with the credential (the user's id).
    pub user_handle: Vec<u8>,
    /// The sign counter; incremented before each assertion.
    pub counter: u32,
    /// The origin written into clientDataJSON.
    pub origin: String,
    /// The RP ID whose hash goes into authenticator data.
    pub rp_id: String,
    /// Whether the UV flag is set.
    pub user_verified: bool,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("randomness");
    b
}

impl SoftAuthenticator {
    /// A new credential for `user_handle`, answering as `origin` for `rp_id`.
    pub fn new(alg: Alg, rp_id: &str, origin: &str, user_handle: &[u8]) -> SoftAuthenticator {
        let key = match alg {
            Alg::Es256 => Key::Es256(loop {
                if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&random::<32>()) {
                    break k;
                }
            }),
            Alg::Rs256 => {
                use rsa::pkcs8::DecodePrivateKey;
                let sk = rsa::RsaPrivateKey::from_pkcs8_pem(TEST_RSA_KEY).expect("test RSA key");
                Key::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(sk)))
            }
            Alg::EdDsa => Key::EdDsa(ed25519_compact::KeyPair::from_seed(
                ed25519_compact::Seed::new(random::<32>()),
            )),
        };
        SoftAuthenticator {
            key,
            alg,
            credential_id: random::<16>().to_vec(),
            user_handle: user_handle.to_vec(),
            counter: 0,
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
            user_verified: true,
        }
    }

    /// The credential's COSE_Key.
    pub fn cose_key(&self) -> Vec<u8> {
        let builder = match &self.key {
            Key::Es256(sk) => {
                let point = sk.verifying_key().to_encoded_point(false);
                let (x, y) = (point.x().expect("x"), point.y().expect("y"));
                CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x.to_vec(), y.to_vec())
                    .algorithm(iana::Algorithm::ES256)
            }
            Key::Rs256(sk) => {
                use rsa::traits::PublicKeyParts;
                let pk = sk.as_ref().as_ref().to_public_key();
                CoseKeyBuilder::new()
                    .key_type(iana::KeyType::RSA)
                    .param(-1, Cbor::Bytes(pk.n().to_bytes_be()))
                    .param(-2, Cbor::Bytes(pk.e().to_bytes_be()))
                    .algorithm(iana::Algorithm::RS256)
            }
            Key::EdDsa(kp) => CoseKeyBuilder::new_okp_key()
                .param(-1, Cbor::from(iana::EllipticCurve::Ed25519 as i64))
                .param(-2, Cbor::Bytes(kp.pk.to_vec()))
                .algorithm(iana::Algorithm::EdDSA),
        };
        builder.build().to_vec().expect("COSE key encodes")
    }

    /// The algorithm of this credential.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn flags(&self) -> u8 {
        FLAG_UP | if self.user_verified { FLAG_UV } else { 0 }
    }

    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut d = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        d.push(flags);
        d.extend_from_slice(&self.counter.to_be_bytes());
        d
    }

    /// Signs `message` with the credential's key (DER for ES256, raw for the others).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.key {
            Key::Es256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Key::Rs256(sk) => {
                let sig: rsa::pkcs1v15::Signature = sk.sign(message);
                rsa::signature::SignatureEncoding::to_vec(&sig)
            }
            Key::EdDsa(kp) => kp.sk.sign(message, None).to_vec(),
        }
    }

    /// The registration response (`PublicKeyCredential` JSON) for `challenge`, attestation
    /// `"none"`.
    pub fn register(&self, challenge: &str) -> Value {
        let mut auth_data = self.auth_data(self.flags() | FLAG_AT);
        auth_data.extend_from_slice(&[0u8; 16]);
        let len = u16::try_from(self.credential_id.len()).expect("short id");
        auth_data.extend_from_slice(&len.to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let att = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut att_bytes = Vec::new();
        coset::cbor::ser::into_writer(&att, &mut att_bytes).expect("CBOR encodes");
        let id = b64url(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&self.client_data("webauthn.create", challenge)),
                "attestationObject": b64url(&att_bytes),
                "transports": ["internal"],
            },
        })
    }

    /// An assertion response for `challenge`, after incrementing the counter.
    pub fn assert(&mut self, challenge: &str) -> Value {
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data(self.flags());
        let mut message = auth_data.clone();
        message.extend_from_slice(&Sha256::digest(&client_data));
        let signature = self.sign(&message);
        let id = b64url(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": b64url(&client_data),
                "authenticatorData": b64url(&auth_data),
                "signature": b64url(&signature),
                "userHandle": b64url(&self.user_handle),
            },
        })
    }
}
