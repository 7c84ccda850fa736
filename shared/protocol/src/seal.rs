//! `POST /v1/unseal` `{contentBase64, keyHex?, compression?, name?}` → the plaintext bytes
//! (decrypt a `DBKENC01` container, then decompress). The sealing side is a
//! [`crate::storage::PutRequest`] with `compression`/`encryption`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Compression;

/// `POST /v1/unseal` body. `Debug` never shows the key or the content.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnsealRequest {
    /// The stored bytes, base64 (≤ 32 MiB decoded).
    pub content_base64: String,
    /// The key (64 hex) for a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hex: Option<String>,
    /// Compression of an unencrypted input (gzip/zstd are also recognised by their magic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// The stored object's name: one ending in `.dbk` must be a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl fmt::Debug for UnsealRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsealRequest")
            .field("compression", &self.compression)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips() {
        let golden = json!({"contentBase64": "AAE=", "keyHex": "00", "compression": "GZIP",
            "name": "config-backups/x.json.gz.dbk"});
        let req: UnsealRequest = serde_json::from_value(golden.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), golden);
        assert!(!format!("{req:?}").contains("AAE="));
        assert!(serde_json::from_value::<UnsealRequest>(json!({"content": "x"})).is_err());
    }
}
