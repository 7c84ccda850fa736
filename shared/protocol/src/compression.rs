//! The compression of a backup stream: its wire name (`NONE`, `GZIP`, `ZSTD`, `BROTLI`), its id
//! in the container header (docs/FORMAT.md) and its object-name suffix.

use serde::{Deserialize, Serialize};

use crate::sidecar::ENCRYPTED_SUFFIX;

/// Compression applied to the plaintext (recorded in the container header, not enforced).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Compression {
    /// Stored as is.
    #[default]
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard frame.
    Zstd,
    /// Brotli stream.
    Brotli,
}

impl Compression {
    /// The id stored in the container header.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Zstd => 2,
            Compression::Brotli => 3,
        }
    }

    /// Inverse of [`Compression::id`].
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Zstd,
            3 => Compression::Brotli,
            _ => return None,
        })
    }

    /// File-name suffix (`""`, `".gz"`, `".zst"`, `".br"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
            Compression::Brotli => ".br",
        }
    }

    /// Compression implied by an object name's suffix (before an optional `.dbk`).
    pub fn from_object_name(name: &str) -> Compression {
        let name = name.strip_suffix(ENCRYPTED_SUFFIX).unwrap_or(name);
        [Compression::Gzip, Compression::Zstd, Compression::Brotli]
            .into_iter()
            .find(|c| name.ends_with(c.suffix()))
            .unwrap_or(Compression::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_ids_and_suffixes() {
        for (c, wire, id) in [
            (Compression::None, "\"NONE\"", 0),
            (Compression::Gzip, "\"GZIP\"", 1),
            (Compression::Zstd, "\"ZSTD\"", 2),
            (Compression::Brotli, "\"BROTLI\"", 3),
        ] {
            assert_eq!(serde_json::to_string(&c).unwrap(), wire);
            assert_eq!(serde_json::from_str::<Compression>(wire).unwrap(), c);
            assert_eq!(Compression::from_id(id), Some(c));
            assert_eq!(c.id(), id);
        }
        assert_eq!(Compression::from_id(4), None);
        assert!(serde_json::from_str::<Compression>("\"gzip\"").is_err());
    }

    #[test]
    fn from_object_name() {
        for (name, c) in [
            ("a/b_x.dump.zst.dbk", Compression::Zstd),
            ("a/b_x.sql.gz", Compression::Gzip),
            ("a/b_x.rdb.br", Compression::Brotli),
            ("a/b_x.rdb", Compression::None),
        ] {
            assert_eq!(Compression::from_object_name(name), c, "{name}");
        }
    }
}
