//! Connections to targets a user typed (S3 endpoints, SFTP servers, SMTP relays) never reach
//! link-local or cloud-metadata addresses, where a server's own cloud credentials are served.
//! The rule is `dbackup_core::net`'s: requests are checked when they arrive
//! ([`dbackup_core::net::check_host`] / `check_url`: literals and the known metadata names), and
//! again here at connect time on **every address the name resolved to** — a name that resolves
//! there is refused too. The connection then goes to the checked addresses themselves (no
//! second lookup that could answer differently). Loopback and private ranges stay allowed:
//! self-hosted storage and databases live there.
//!
//! Callback URLs are not user-typed (the host sends its own), and database hosts are reached
//! by the client tools, which resolve names themselves (their hosts are checked at validation).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use dbackup_core::net::is_forbidden_ip;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Refuses `addrs` (what `host` resolved to) when any of them is forbidden. One bad address is
/// enough: a name that resolves partly to a metadata address is not one to trust.
pub fn check_resolved(host: &str, addrs: &[SocketAddr]) -> io::Result<()> {
    match addrs.iter().find(|a| is_forbidden_ip(a.ip())) {
        None => Ok(()),
        Some(bad) => Err(refused(host, bad)),
    }
}

fn refused(host: &str, addr: &SocketAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "refusing to connect to {host}: it resolves to {}, a link-local or cloud metadata address",
            addr.ip()
        ),
    )
}

/// Resolves `host:port` (blocking) and checks every address; `Ok` is the checked addresses to
/// connect to.
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    check_resolved(host, &addrs)?;
    Ok(addrs)
}

/// [`resolve`] on the async runtime.
pub async fn resolve_async(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    check_resolved(host, &addrs)?;
    Ok(addrs)
}

/// ureq's resolver with the check: the S3 client connects only to addresses that passed it.
#[derive(Debug, Default)]
pub struct CheckedResolver {
    inner: DefaultResolver,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default();
        check_resolved(host, &addrs).map_err(ureq::Error::Io)?;
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn any_forbidden_address_refuses_the_name() {
        for bad in [
            &["169.254.169.254:80"][..],
            &["10.0.0.5:443", "169.254.10.1:443"],
            &["[fe80::1]:22"],
            &["[fd00:ec2::254]:80"],
            &["100.100.100.200:80"],
            &["[::ffff:169.254.169.254]:80"],
        ] {
            let e = check_resolved("s3.example", &addrs(bad)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{bad:?}");
            assert!(
                e.to_string().contains("link-local or cloud metadata"),
                "{e}"
            );
        }
        for ok in [
            &["127.0.0.1:9000"][..],
            &["10.1.2.3:22", "192.168.1.10:22"],
            &["[::1]:25"],
            &["93.184.216.34:443"],
        ] {
            assert!(check_resolved("h", &addrs(ok)).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn literals_go_through_the_same_check_when_resolved() {
        assert!(resolve("169.254.169.254", 80).is_err());
        assert!(resolve("127.0.0.1", 80).is_ok());
        let e = resolve("fe80::1", 22).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    }

    #[test]
    fn the_s3_resolver_hook_refuses_a_metadata_endpoint() {
        let resolver = CheckedResolver::default();
        let config = ureq::config::Config::default();
        let uri: ureq::http::Uri = "http://169.254.169.254/latest/meta-data/".parse().unwrap();
        let e = resolver
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap_err();
        assert!(e.to_string().contains("link-local"), "{e}");
        let uri: ureq::http::Uri = "http://127.0.0.1:9000/bucket".parse().unwrap();
        assert!(resolver
            .resolve(&uri, &config, NextTimeout::default())
            .is_ok());
    }
}
