//! The session cookie: `HttpOnly; Secure; SameSite=Lax; Path=/`, holding the session JWT, and
//! the SSO state cookie that binds a started SSO login to the browser that started it.
//! `Secure` follows the app's configured public origin (`public_url`, else `app_url`; never the
//! request's `Host`): it is left off only when that origin is plain-HTTP loopback
//! (`http://127.0.0.1`, `http://localhost`, `http://[::1]`), where browsers would otherwise drop
//! it during local use.

/// The cookie's name.
pub const SESSION_COOKIE: &str = "dbackup_session";

/// The cookie that carries the `state` of a started SSO login (see [`set_sso_state`]).
pub const SSO_STATE_COOKIE: &str = "dbackup_sso_state";

/// The value of cookie `name` in a `Cookie` request header, if present and non-empty.
pub fn read<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (n, value) = pair.trim().split_once('=')?;
        (n.trim() == name && !value.trim().is_empty()).then(|| value.trim())
    })
}

/// The session JWT from a `Cookie` request header, if present and non-empty.
pub fn read_session(cookie_header: &str) -> Option<&str> {
    read(cookie_header, SESSION_COOKIE)
}

/// Whether cookies must be `Secure` for the app served at `public_origin` (its configured
/// public origin, see `csrf::public_origin`; empty when none is configured: then they are).
pub fn secure_for(public_origin: &str) -> bool {
    let Some(rest) = public_origin.strip_prefix("http://") else {
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

/// The path the SSO state cookie is sent to: the provider's callback only.
fn sso_callback_path(provider_id: &str) -> String {
    format!("/api/auth/sso/{provider_id}/callback")
}

/// A `Set-Cookie` value binding an SSO login's `state` to this browser for `max_age_secs`:
/// `HttpOnly`, `SameSite=Lax` (sent on the provider's top-level redirect back), and sent only
/// to the provider's callback path. The callback refuses a `state` this cookie does not carry.
pub fn set_sso_state(state: &str, provider_id: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SSO_STATE_COOKIE}={state}; HttpOnly{secure}; SameSite=Lax; Path={}; Max-Age={}",
        sso_callback_path(provider_id),
        max_age_secs.max(0)
    )
}

/// A `Set-Cookie` value that deletes the SSO state cookie of `provider_id`.
pub fn clear_sso_state(provider_id: &str, secure: bool) -> String {
    set_sso_state("", provider_id, 0, secure)
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
    fn reads_any_cookie_by_name() {
        let h = "dbackup_session=jwt; dbackup_sso_state=abc";
        assert_eq!(read(h, SSO_STATE_COOKIE), Some("abc"));
        assert_eq!(read(h, "dbackup_sso"), None);
        assert_eq!(read("dbackup_sso_state=", SSO_STATE_COOKIE), None);
    }

    #[test]
    fn sso_state_cookie_is_scoped_to_the_callback() {
        assert_eq!(
            set_sso_state("st", "corp", 600, true),
            "dbackup_sso_state=st; HttpOnly; Secure; SameSite=Lax; \
             Path=/api/auth/sso/corp/callback; Max-Age=600"
        );
        assert_eq!(
            clear_sso_state("corp", false),
            "dbackup_sso_state=; HttpOnly; SameSite=Lax; Path=/api/auth/sso/corp/callback; Max-Age=0"
        );
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
