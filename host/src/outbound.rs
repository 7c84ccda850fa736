//! `allowed_outbound_hosts` as Spin reads it: `scheme://host[:port]`, where each part may be `*`,
//! the host may start with `*.`, and a missing port means the scheme's default port.

use anyhow::{bail, Result};

/// One allowed destination.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    scheme: String,
    host: String,
    port: Option<String>,
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Result<Self> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!(
                "allowed_outbound_hosts entry {entry:?} needs a scheme (e.g. https://example.com)"
            );
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            bail!("allowed_outbound_hosts entry {entry:?} must be scheme://host[:port]");
        }
        let (host, port) = split_host_port(authority);
        Ok(AllowedHost {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            port: port.map(str::to_owned),
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme == "*" || self.scheme == scheme;
        let host = host.to_ascii_lowercase();
        let host_ok = self.host == "*"
            || self.host == host
            || self
                .host
                .strip_prefix("*.")
                .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")));
        let port_ok = match self.port.as_deref() {
            Some("*") => true,
            Some(p) => p.parse::<u16>().ok() == Some(port),
            None => default_port(scheme) == Some(port),
        };
        scheme_ok && host_ok && port_ok
    }
}

fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(end) = authority.strip_prefix('[').and_then(|a| a.find(']')) {
        // [v6]:port
        let host = &authority[..end + 2];
        let port = authority[end + 2..].strip_prefix(':');
        return (host, port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A component's whole allow-list (deny-all when empty).
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Vec<AllowedHost>,
}

impl OutboundPolicy {
    pub fn new(entries: &[String]) -> Result<Self> {
        Ok(OutboundPolicy {
            allowed: entries
                .iter()
                .map(|e| AllowedHost::parse(e))
                .collect::<Result<_>>()?,
        })
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.allowed.iter().any(|a| a.allows(scheme, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_spin() {
        let p = OutboundPolicy::new(&[
            "http://127.0.0.1:3001".into(),
            "https://*.amazonaws.com".into(),
            "*://example.org:*".into(),
        ])
        .expect("valid");
        assert!(p.allows("http", "127.0.0.1", 3001));
        assert!(!p.allows("http", "127.0.0.1", 3002));
        assert!(!p.allows("https", "127.0.0.1", 3001));
        assert!(p.allows("https", "s3.eu-west-1.amazonaws.com", 443));
        assert!(!p.allows("https", "amazonaws.com.evil.net", 443));
        assert!(!p.allows("https", "s3.amazonaws.com", 8443));
        assert!(p.allows("http", "EXAMPLE.org", 8080));
        assert!(!OutboundPolicy::default().allows("http", "127.0.0.1", 80));
    }

    #[test]
    fn rejects_entries_without_scheme() {
        assert!(AllowedHost::parse("127.0.0.1:3001").is_err());
        assert!(AllowedHost::parse("http://a/b").is_err());
    }
}
