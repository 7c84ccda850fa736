//! Checks shared by the request bodies of several entities.

use crate::error::{IdentityError, Result};

/// A short text field (name, preference): trimmed, 1 to `max_chars` characters, no control
/// characters. Returns the trimmed value, or a 400 naming `field`.
pub(crate) fn short_text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(IdentityError::invalid_field(
            field,
            format!("{field} must be 1–{max_chars} characters"),
        ));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(short_text("name", "  Ann ", 5).unwrap(), "Ann");
        assert_eq!(short_text("name", "ééééé", 5).unwrap(), "ééééé");
        for bad in ["", "   ", "abcdef", "a\u{0}b", "a\nb"] {
            let e = short_text("name", bad, 5).unwrap_err();
            assert_eq!(e.to_string(), "name must be 1–5 characters", "{bad:?}");
            assert_eq!(e.status(), 400);
        }
    }
}
