//! The session cookie: `HttpOnly; Secure; SameSite=Lax; Path=/`, holding the session JWT.
//! `Secure` is left off only for plain-HTTP loopback (`http://127.0.0.1`, `http://localhost`,
//! `http://[::1]`), where browsers would otherwise drop it during local use.

/// The cookie's name.
pub const SESSION_COOKIE: &str = "dbackup_session";

/// The session JWT from a `Cookie` request header, if present and non-empty.
pub fn read_session(cookie_header: &str) -> Option<&str> {
    cookie_header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == SESSION_COOKIE && !value.trim().is_empty()).then(|| value.trim())
    })
}

/// Whether the cookie must be `Secure` for a request to `full_url` (the `spin-full-url` header).
pub fn secure_for(full_url: &str) -> bool {
    let Some(rest) = full_url.strip_prefix("http://") else {
        return true;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    !matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "::1"
    )
}

/// A `Set-Cookie` value carrying `jwt` for `max_age_secs`.
pub fn set_session(jwt: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={jwt}; HttpOnly{secure}; SameSite=Lax; Path=/; Max-Age={}",
        max_age_secs.max(0)
    )
}

/// A `Set-Cookie` value that deletes the cookie (logout, invalid session).
pub fn clear_session(secure: bool) -> String {
    set_session("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_session_cookie_among_others() {
        assert_eq!(
            read_session("dbackup_session=abc.def.ghi"),
            Some("abc.def.ghi")
        );
        assert_eq!(
            read_session("theme=dark; dbackup_session=tok ; other=1"),
            Some("tok")
        );
        assert_eq!(read_session("theme=dark"), None);
        assert_eq!(read_session("dbackup_session="), None);
        assert_eq!(read_session("xdbackup_session=tok"), None);
        assert_eq!(read_session(""), None);
    }

    #[test]
    fn secure_except_on_loopback_http() {
        assert!(secure_for("https://backup.example.com/api/auth/login"));
        assert!(secure_for("https://127.0.0.1:3000/api"));
        assert!(secure_for("http://backup.example.com/api"));
        assert!(!secure_for("http://127.0.0.1:3000/api/auth/login"));
        assert!(!secure_for("http://localhost/api"));
        assert!(!secure_for("http://LOCALHOST:8080"));
        assert!(!secure_for("http://[::1]:3000/api"));
        assert!(secure_for("http://localhost.evil.com/api"));
        assert!(secure_for(""));
    }

    #[test]
    fn cookie_attributes() {
        assert_eq!(
            set_session("jwt", 604_800, true),
            "dbackup_session=jwt; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=604800"
        );
        assert_eq!(
            clear_session(false),
            "dbackup_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }
}
