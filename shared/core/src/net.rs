//! Which outbound addresses a user-typed target may reach.
//!
//! Every URL or host a user types (S3 endpoints, webhook URLs, OIDC issuers, database and SFTP
//! hosts) is checked twice: at validation with [`check_host`] / [`check_url`], and at connect time
//! with [`is_forbidden_ip`] on every address the name resolved to (a name that resolves to a
//! metadata address is refused too). Loopback and private ranges stay allowed: self-hosted
//! databases live there. What is refused is link-local and the cloud metadata services, the
//! addresses through which a server's own cloud credentials leak.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Host names of metadata services that are refused by name (they resolve to link-local).
const FORBIDDEN_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
];

/// The error text for a refused target (no address in it beyond what the caller typed).
pub const REFUSED: &str = "must not point at a link-local or cloud metadata address";

/// The error text for a host with non-ASCII characters.
pub const NON_ASCII: &str =
    "must be an ASCII host name or IP address (write an international name in its xn-- form)";

/// Whether an address is link-local or a cloud metadata service (169.254.0.0/16, fe80::/10,
/// fd00:ec2::254, 100.100.100.200), also when embedded in IPv4-mapped, IPv4-compatible or
/// NAT64 (64:ff9b::/96) IPv6 addresses.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            // fe80::/10 link-local; fd00:ec2::254 is AWS's IPv6 instance metadata service.
            (s[0] & 0xffc0) == 0xfe80 || v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    ip.is_link_local() || ip == Ipv4Addr::new(100, 100, 100, 200)
}

/// The IPv4 address carried by an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or
/// NAT64 well-known-prefix (64:ff9b::a.b.c.d) IPv6 address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    None
}

/// Parses an IPv4 literal the way `inet_aton` and URL parsers do: dotted forms with one to four
/// parts, each decimal, octal (leading 0) or hex (0x), so `2852039166`, `0xa9fea9fe` and
/// `169.254.43518` all read as 169.254.169.254.
fn parse_v4_loose(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let lower = p.to_ascii_lowercase();
        let n = if let Some(hex) = lower.strip_prefix("0x") {
            if hex.is_empty() {
                0
            } else {
                u64::from_str_radix(hex, 16).ok()?
            }
        } else if lower.len() > 1 && lower.starts_with('0') {
            u64::from_str_radix(&lower[1..], 8).ok()?
        } else {
            lower.parse::<u64>().ok()?
        };
        nums.push(n);
    }
    let (last, init) = nums.split_last()?;
    if init.iter().any(|&n| n > 255) {
        return None;
    }
    let room = 8 * (4 - init.len() as u32);
    if room < 64 && *last >= (1u64 << room) {
        return None;
    }
    let mut value: u64 = 0;
    for (i, n) in init.iter().enumerate() {
        value |= n << (24 - 8 * i as u32);
    }
    value |= last;
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// Checks a host as typed (name, IPv4 in any `inet_aton` form, or IPv6 with or without
/// brackets and zone): a literal must not be forbidden, and the known metadata names are refused.
/// Names are otherwise allowed here; the connect-time check catches what they resolve to.
pub fn check_host(host: &str) -> Result<(), &'static str> {
    // URL parsers map non-ASCII hosts through IDNA, where full-width digits and dots become
    // ASCII ones (`１６９．２５４．１６９．２５４` is 169.254.169.254): only ASCII is accepted.
    if !host.is_ascii() {
        return Err(NON_ASCII);
    }
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    let bare = bare.split('%').next().unwrap_or(bare);
    if let Ok(v6) = bare.parse::<Ipv6Addr>() {
        return if is_forbidden_ip(IpAddr::V6(v6)) {
            Err(REFUSED)
        } else {
            Ok(())
        };
    }
    if let Some(v4) = parse_v4_loose(bare) {
        return if forbidden_v4(v4) {
            Err(REFUSED)
        } else {
            Ok(())
        };
    }
    if FORBIDDEN_NAMES.contains(&bare) {
        return Err(REFUSED);
    }
    Ok(())
}

/// The authority of a `scheme://` URL (userinfo, host, port).
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    // WHATWG URL parsers read `\` as `/` in http(s) URLs: `http://169.254.169.254\@x/` has
    // the host 169.254.169.254 for them, so it ends the authority here too.
    rest.split(['/', '\\', '?', '#']).next()
}

/// What [`check_url`] answers for a URL with userinfo.
pub const CREDENTIALS_IN_URL: &str =
    "must not contain credentials (user:password@); put them in the token or header field";

/// `url` with the credentials of its userinfo replaced by `mask` (`https://••••@host/…`), or
/// `None` when it has none: for URLs saved before [`check_url`] refused them, shown back.
pub fn mask_userinfo(url: &str, mask: &str) -> Option<String> {
    let authority = authority(url)?;
    let (_, host) = authority.rsplit_once('@')?;
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end + authority.len()..];
    Some(format!("{}{mask}@{host}{rest}", &url[..scheme_end]))
}

/// The host part of an `http(s)://` URL (without userinfo and port), if it has one.
pub fn url_host(url: &str) -> Option<&str> {
    let authority = authority(url)?;
    // The last '@' ends the userinfo, as URL parsers read it.
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if hostport.starts_with('[') {
        hostport.split_once(']').map(|(h, _)| &h[1..])?
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// Checks a URL's host with [`check_host`]; a URL without a host is refused.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    // WHATWG URL parsers drop tabs and newlines anywhere in the input (`169.254.1\n69.254`
    // reads as 169.254.169.254): a URL with control characters or whitespace is refused.
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must be a URL without whitespace or control characters");
    }
    let Some(host) = url_host(url) else {
        return Err("must be an http:// or https:// URL with a host");
    };
    // A URL is shown back in answers and logs like any other field; credentials in it would
    // be too. They belong in the secret fields (token, authorization, headers).
    if authority(url).is_some_and(|a| a.contains('@')) {
        return Err(CREDENTIALS_IN_URL);
    }
    // Percent-encoded hosts are decoded by some clients: refuse them rather than guess.
    if host.contains('%') && !host.contains(':') {
        return Err(REFUSED);
    }
    check_host(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_refused() {
        for url in [
            "https://user:pass@hooks.example/x",
            "https://token@hooks.example",
            "http://u:p@127.0.0.1:8080/",
            "https://:secret@s3.example",
            "https://a@b@hooks.example/",
        ] {
            assert_eq!(check_url(url), Err(CREDENTIALS_IN_URL), "{url}");
        }
        assert_eq!(
            mask_userinfo("https://user:pass@hooks.example:8443/x?y#z", "M").as_deref(),
            Some("https://M@hooks.example:8443/x?y#z")
        );
        assert_eq!(mask_userinfo("https://hooks.example/a@b", "M"), None);
        // An '@' after the authority is a path, query or fragment.
        for url in [
            "https://hooks.example/team@ops",
            "https://hooks.example/x?to=a@b.example",
            "https://hooks.example/#@x",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn forbidden_addresses() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "100.100.100.201",
            "::1",
            "fd00::1",
            "fec0::1",
            "8.8.8.8",
        ] {
            assert!(!is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn host_literals_in_every_form() {
        for h in [
            "169.254.169.254",
            "2852039166",
            "0xa9fea9fe",
            "0251.0376.0251.0376",
            "169.254.43518",
            "[fe80::1]",
            "fe80::1%eth0",
            "[::ffff:a9fe:a9fe]",
            "METADATA.google.internal.",
            "100.100.100.200",
        ] {
            assert_eq!(check_host(h), Err(REFUSED), "{h}");
        }
        for h in [
            "db",
            "127.0.0.1",
            "10.1.2.3",
            "s3.amazonaws.com",
            "[::1]",
            "1.2.3",
        ] {
            assert_eq!(check_host(h), Ok(()), "{h}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(url_host("https://u:p@h.example:9000/x"), Some("h.example"));
        assert_eq!(
            url_host("http://[fd00:ec2::254]:80/"),
            Some("fd00:ec2::254")
        );
        assert_eq!(url_host("http://a@169.254.169.254@x/"), Some("x"));
        assert!(check_url("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check_url("http://evil@169.254.169.254/").is_err());
        assert!(check_url("http://[fe80::1]:8080/").is_err());
        assert!(check_url("http://%31%36%39.254.169.254/").is_err());
        assert!(check_url("https://hooks.example.com/x").is_ok());
        assert!(check_url("http://127.0.0.1:9000").is_ok());
        assert!(check_url("nope").is_err());
        // Backslash ends the authority (WHATWG), tabs/newlines are dropped by parsers,
        // full-width digits map to ASCII through IDNA: all refused.
        assert_eq!(
            url_host("http://169.254.169.254\\@x.example/"),
            Some("169.254.169.254")
        );
        assert_eq!(
            check_url("http://169.254.169.254\\@x.example/"),
            Err(REFUSED)
        );
        assert!(check_url("http://169.254.1\t69.254/").is_err());
        assert!(check_url("http://169.254.1\n69.254/").is_err());
        assert_eq!(
            check_url("http://１６９.２５４.１６９.２５４/"),
            Err(NON_ASCII)
        );
        assert_eq!(check_host("169。254。169。254"), Err(NON_ASCII));
        assert!(check_url("https://xn--bcher-kva.example/").is_ok());
    }
}
