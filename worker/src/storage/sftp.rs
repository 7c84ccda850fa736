//! SFTP storage over SSH, pure Rust (`russh` + `russh-sftp`, `ring` crypto).
//!
//! The SSH client is async; it runs on one small dedicated tokio runtime (shared by every SFTP
//! storage of the process) and this module exposes it through the blocking [`Storage`] trait
//! by sending each operation to that runtime and waiting on a std channel, which works from
//! any thread (the worker's blocking task threads, the HTTP routes' `spawn_blocking`, tests).
//!
//! The server's host key must be pinned (an OpenSSH public-key line or a `SHA256:`
//! fingerprint); any other key is refused before authentication. Objects are written to
//! `<name>.partial` and renamed at commit (SFTP rename does not replace an existing file);
//! dropping an uncommitted writer removes the partial.

use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use russh_sftp::client::SftpSession;
use russh_sftp::protocol::{OpenFlags, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::local::PARTIAL_SUFFIX;
use super::{validate_name, ObjectInfo, ObjectWriter, SftpSpec, Storage};
use crate::ssh::{block, runtime, Client};

/// Timeout of one SFTP request.
const OP_TIMEOUT: Duration = Duration::from_secs(120);

struct Session {
    handle: russh::client::Handle<Client>,
    sftp: SftpSession,
}

impl Session {
    /// Connects as `login` and opens the SFTP subsystem; errors say `label` and name `field`.
    fn open(login: crate::ssh::Login, label: &'static str, field: &str) -> io::Result<Self> {
        let field = field.to_owned();
        block(async move {
            let handle = crate::ssh::connect(login, label, field).await?;
            let channel = handle
                .channel_open_session()
                .await
                .map_err(|e| io::Error::other(format!("SFTP: opening a channel: {e}")))?;
            channel
                .request_subsystem(true, "sftp")
                .await
                .map_err(|e| io::Error::other(format!("SFTP: subsystem request: {e}")))?;
            let sftp = SftpSession::new(channel.into_stream())
                .await
                .map_err(|e| sftp_error("session", e))?;
            sftp.set_timeout(OP_TIMEOUT.as_secs());
            Ok::<_, io::Error>(Session { handle, sftp })
        })?
    }
}

/// A directory on an SFTP server, over one SSH connection opened by [`SftpStorage::connect`].
pub struct SftpStorage {
    session: Arc<Session>,
    /// Base directory without a trailing slash (empty = the login directory).
    base: String,
    display: String,
}

fn sftp_error(what: &str, e: russh_sftp::client::error::Error) -> io::Error {
    let kind = match &e {
        russh_sftp::client::error::Error::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => io::ErrorKind::NotFound,
            StatusCode::PermissionDenied => io::ErrorKind::PermissionDenied,
            _ => io::ErrorKind::Other,
        },
        russh_sftp::client::error::Error::Timeout => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("SFTP {what}: {e}"))
}

async fn timed<T>(
    what: &str,
    fut: impl Future<Output = Result<T, russh_sftp::client::error::Error>>,
) -> io::Result<T> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(r) => r.map_err(|e| sftp_error(what, e)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("SFTP {what}: timed out"),
        )),
    }
}

impl SftpStorage {
    /// Connects, checks the pinned host key, authenticates (private key first, then
    /// password) and opens the SFTP subsystem.
    pub fn connect(spec: &SftpSpec) -> io::Result<Self> {
        let login = crate::ssh::Login {
            host: spec.host.clone(),
            port: spec.port,
            user: spec.username.clone(),
            password: spec.password.clone(),
            private_key: spec.private_key.clone(),
            passphrase: spec.passphrase.clone(),
            host_key: spec.host_key.clone(),
        };
        let spec = spec.clone();
        let display = format!(
            "sftp://{}@{}:{}{}",
            spec.username,
            spec.host,
            spec.port,
            if spec.path.starts_with('/') { "" } else { "/" }
        );
        let base = match spec.path.trim_end_matches('/') {
            "" if spec.path.starts_with('/') => "/".to_owned(),
            trimmed => trimmed.to_owned(),
        };
        let session = Session::open(login, "SFTP", "storage")?;
        Ok(SftpStorage {
            session: Arc::new(session),
            display: format!("{display}{base}"),
            base,
        })
    }

    fn path(&self, name: &str) -> io::Result<String> {
        validate_name(name)?;
        Ok(self.join(name))
    }

    fn join(&self, rel: &str) -> String {
        if self.base.is_empty() {
            rel.to_owned()
        } else if rel.is_empty() {
            self.base.clone()
        } else if self.base.ends_with('/') {
            format!("{}{rel}", self.base)
        } else {
            format!("{}/{rel}", self.base)
        }
    }

    /// Creates the missing directories of `name`'s parent (and the base).
    fn ensure_parents(&self, name: &str) -> io::Result<()> {
        let parent = name.rsplit_once('/').map_or("", |(p, _)| p);
        let full = self.join(parent);
        let mut dirs = Vec::new();
        let mut acc = if full.starts_with('/') {
            "/".to_owned()
        } else {
            String::new()
        };
        for segment in full.split('/').filter(|s| !s.is_empty()) {
            if !acc.is_empty() && !acc.ends_with('/') {
                acc.push('/');
            }
            acc.push_str(segment);
            dirs.push(acc.clone());
        }
        let session = self.session.clone();
        block(async move {
            for dir in dirs {
                match session.sftp.metadata(dir.clone()).await {
                    Ok(m) if m.is_dir() => continue,
                    Ok(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("SFTP: {dir} is not a directory"),
                        ))
                    }
                    Err(_) => {}
                }
                if let Err(e) = timed("mkdir", session.sftp.create_dir(dir.clone())).await {
                    // Lost a race with another writer: fine if it is a directory now.
                    let now = session.sftp.metadata(dir.clone()).await;
                    if !now.is_ok_and(|m| m.is_dir()) {
                        return Err(e);
                    }
                }
            }
            Ok(())
        })?
    }
}

impl Drop for SftpStorage {
    fn drop(&mut self) {
        if let Ok(rt) = runtime() {
            let session = self.session.clone();
            rt.spawn(async move {
                let _ = session.sftp.close().await;
                let _ = session
                    .handle
                    .disconnect(russh::Disconnect::ByApplication, "", "en")
                    .await;
            });
        }
    }
}

impl Storage for SftpStorage {
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        let path = self.path(name)?;
        self.ensure_parents(name)?;
        let partial = format!("{path}{PARTIAL_SUFFIX}");
        let session = self.session.clone();
        let (p, q) = (path.clone(), partial.clone());
        let file = block(async move {
            if session.sftp.metadata(p.clone()).await.is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("object {p:?} already exists"),
                ));
            }
            // Exclusive: a partial of the same name is another writer's (or a crashed
            // one's); either way the name is taken, and the other's bytes stay untouched.
            match session
                .sftp
                .open_with_flags(
                    q.clone(),
                    OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE,
                )
                .await
            {
                Ok(file) => Ok(file),
                Err(e) => {
                    if session.sftp.metadata(q.clone()).await.is_ok() {
                        return Err(io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            format!(
                                "object {p:?} is being written (a {PARTIAL_SUFFIX} file exists)"
                            ),
                        ));
                    }
                    Err(sftp_error("create", e))
                }
            }
        })??;
        Ok(Box::new(SftpWriter {
            session: self.session.clone(),
            file: Some(file),
            partial,
            path,
            replace: false,
        }))
    }

    fn put_replace(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        let path = self.path(name)?;
        self.ensure_parents(name)?;
        // A partial name of its own, so concurrent replacers never share one.
        let tag = hex::encode(crate::format::random_bytes::<4>()?);
        let partial = format!("{path}.{tag}{PARTIAL_SUFFIX}");
        let session = self.session.clone();
        let q = partial.clone();
        let file = block(async move {
            timed(
                "create",
                session
                    .sftp
                    .open_with_flags(q, OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE),
            )
            .await
        })??;
        Ok(Box::new(SftpWriter {
            session: self.session.clone(),
            file: Some(file),
            partial,
            path,
            replace: true,
        }))
    }

    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        let path = self.path(name)?;
        let session = self.session.clone();
        let file = block(async move { timed("open", session.sftp.open(path)).await })??;
        Ok(Box::new(SftpReader { file: Some(file) }))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let start = prefix.trim_end_matches('/').to_owned();
        if !start.is_empty() {
            validate_name(&start)?;
        }
        let session = self.session.clone();
        let root = self.join("");
        let base = self.base.clone();
        let mut out = block(async move {
            let mut out = Vec::new();
            let mut stack = vec![start];
            while let Some(rel) = stack.pop() {
                let dir = if rel.is_empty() {
                    if root.is_empty() {
                        ".".to_owned()
                    } else {
                        root.clone()
                    }
                } else if base.is_empty() {
                    rel.clone()
                } else if base.ends_with('/') {
                    format!("{base}{rel}")
                } else {
                    format!("{base}/{rel}")
                };
                let entries = match timed("list", session.sftp.read_dir(dir)).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let file_name = entry.file_name();
                    if file_name == "." || file_name == ".." {
                        continue;
                    }
                    let child = if rel.is_empty() {
                        file_name.clone()
                    } else {
                        format!("{rel}/{file_name}")
                    };
                    let meta = entry.metadata();
                    if meta.is_dir() {
                        stack.push(child);
                    } else if meta.is_regular() && !child.ends_with(PARTIAL_SUFFIX) {
                        out.push(ObjectInfo {
                            name: child,
                            size: meta.size.unwrap_or(0),
                            modified_unix: u64::from(meta.mtime.unwrap_or(0)),
                        });
                    }
                }
            }
            Ok(out)
        })??;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn stat(&self, name: &str) -> io::Result<ObjectInfo> {
        let path = self.path(name)?;
        let session = self.session.clone();
        let meta = block(async move { timed("stat", session.sftp.metadata(path)).await })??;
        if !meta.is_regular() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a file"));
        }
        Ok(ObjectInfo {
            name: name.to_owned(),
            size: meta.size.unwrap_or(0),
            modified_unix: u64::from(meta.mtime.unwrap_or(0)),
        })
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        let path = self.path(name)?;
        let session = self.session.clone();
        block(async move {
            match timed("delete", session.sftp.remove_file(path)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })?
    }

    fn location(&self, name: &str) -> String {
        format!("{}/{name}", self.display)
    }
}

/// Writer of one SFTP object (`<name>.partial`, renamed at commit).
struct SftpWriter {
    session: Arc<Session>,
    file: Option<russh_sftp::client::fs::File>,
    partial: String,
    path: String,
    /// Replace an existing object at commit (`posix-rename@openssh.com`).
    replace: bool,
}

impl Write for SftpWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("SFTP upload already closed or failed"))?;
        let data = data.to_vec();
        let (file, result) = block(async move {
            let r = match tokio::time::timeout(OP_TIMEOUT, file.write_all(&data)).await {
                Ok(r) => r.map(|()| data.len()),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "SFTP write timed out",
                )),
            };
            (file, r)
        })?;
        if result.is_ok() {
            self.file = Some(file); // after an error the file is dropped; Drop removes the partial
        }
        result.map_err(|e| io::Error::new(e.kind(), format!("SFTP write: {e}")))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for SftpWriter {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("SFTP upload already closed or failed"))?;
        let session = self.session.clone();
        // From here on this function, not Drop, owns the cleanup.
        let partial = std::mem::take(&mut self.partial);
        let path = self.path.clone();
        let replace = self.replace;
        block(async move {
            let done = async {
                // fsync@openssh.com when offered; not every server has it.
                let _ = file.sync_all().await;
                file.shutdown()
                    .await
                    .map_err(|e| io::Error::new(e.kind(), format!("SFTP close: {e}")))?;
                if replace {
                    replace_file(&session, &partial, &path).await
                } else {
                    // SFTP v3 rename refuses an existing target: never overwrites.
                    timed("rename", session.sftp.rename(partial.clone(), path)).await
                }
            }
            .await;
            if done.is_err() {
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    session.sftp.remove_file(partial),
                )
                .await;
            }
            done
        })?
    }
}

impl Drop for SftpWriter {
    fn drop(&mut self) {
        if self.partial.is_empty() {
            return; // committed (or commit cleaned up)
        }
        // Uncommitted or failed: close and remove the partial.
        let file = self.file.take();
        let session = self.session.clone();
        let partial = std::mem::take(&mut self.partial);
        let _ = block(async move {
            if let Some(mut file) = file {
                let _ = tokio::time::timeout(Duration::from_secs(10), file.shutdown()).await;
            }
            let _ =
                tokio::time::timeout(Duration::from_secs(10), session.sftp.remove_file(partial))
                    .await;
        });
    }
}

/// OpenSSH's atomic, replacing rename extension.
const POSIX_RENAME: &str = "posix-rename@openssh.com";

/// Renames `from` over `to`: atomically with `posix-rename@openssh.com` (sent on a second,
/// short-lived SFTP channel, since the session type does not expose extension requests);
/// without it, removes `to` and renames (a short window without the object).
async fn replace_file(session: &Session, from: &str, to: &str) -> io::Result<()> {
    match posix_rename(session, from, to).await {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => return Err(e),
    }
    match session.sftp.remove_file(to.to_owned()).await {
        Ok(()) => {}
        Err(russh_sftp::client::error::Error::Status(s))
            if s.status_code == StatusCode::NoSuchFile => {}
        Err(e) => return Err(sftp_error("remove", e)),
    }
    timed(
        "rename",
        session.sftp.rename(from.to_owned(), to.to_owned()),
    )
    .await
}

/// `Ok(false)` when the server does not offer the extension.
async fn posix_rename(session: &Session, from: &str, to: &str) -> io::Result<bool> {
    use russh_sftp::client::RawSftpSession;
    use russh_sftp::protocol::Packet;
    let fut = async {
        let channel = session
            .handle
            .channel_open_session()
            .await
            .map_err(|e| io::Error::other(format!("SFTP: opening a channel: {e}")))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| io::Error::other(format!("SFTP: subsystem request: {e}")))?;
        let raw = RawSftpSession::new(channel.into_stream());
        raw.set_timeout(OP_TIMEOUT.as_secs());
        let version = raw.init().await.map_err(|e| sftp_error("session", e))?;
        if version
            .extensions
            .get(POSIX_RENAME)
            .is_none_or(|v| v != "1")
        {
            return Ok(false);
        }
        // Same wire layout as hardlink@openssh.com: string oldpath, string newpath.
        let data: Vec<u8> = match (russh_sftp::extensions::HardlinkExtension {
            oldpath: from.to_owned(),
            newpath: to.to_owned(),
        })
        .try_into()
        {
            Ok(data) => data,
            Err(e) => return Err(io::Error::other(format!("SFTP rename: {e}"))),
        };
        let reply = raw.extended(POSIX_RENAME, data).await;
        let _ = raw.close_session();
        let reply = match reply {
            Ok(reply) => reply,
            Err(russh_sftp::client::error::Error::Status(s))
                if s.status_code == StatusCode::OpUnsupported =>
            {
                return Ok(false)
            }
            Err(e) => return Err(sftp_error("rename", e)),
        };
        match reply {
            Packet::Status(s) if s.status_code == StatusCode::Ok => Ok(true),
            Packet::Status(s) if s.status_code == StatusCode::OpUnsupported => Ok(false),
            Packet::Status(s) => Err(io::Error::other(format!(
                "SFTP rename: {:?} {}",
                s.status_code, s.error_message
            ))),
            _ => Err(io::Error::other("SFTP rename: unexpected reply")),
        }
    };
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "SFTP rename: timed out",
        )),
    }
}

/// Streaming reader of one SFTP object.
struct SftpReader {
    file: Option<russh_sftp::client::fs::File>,
}

impl Read for SftpReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("SFTP read after an error"))?;
        let want = buf.len().min(256 * 1024);
        let (file, result) = block(async move {
            let mut chunk = vec![0u8; want];
            let r = match tokio::time::timeout(OP_TIMEOUT, file.read(&mut chunk)).await {
                Ok(Ok(n)) => {
                    chunk.truncate(n);
                    Ok(chunk)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "SFTP read timed out",
                )),
            };
            (file, r)
        })?;
        let chunk = result?;
        self.file = Some(file);
        buf[..chunk.len()].copy_from_slice(&chunk);
        Ok(chunk.len())
    }
}

impl Drop for SftpReader {
    fn drop(&mut self) {
        if let (Some(mut file), Ok(rt)) = (self.file.take(), runtime()) {
            rt.spawn(async move {
                let _ = file.shutdown().await;
            });
        }
    }
}

/// Read-only access to an SSH host's files for a files source (`engines::files`): the trees
/// are walked and read over SFTP on one connection (the pinned host key checked first).
pub(crate) struct RemoteFiles {
    session: Arc<Session>,
}

impl RemoteFiles {
    /// Connects as `login` and opens the SFTP subsystem; errors name `source.ssh`.
    pub(crate) fn connect(login: crate::ssh::Login) -> io::Result<Self> {
        let session = Session::open(login, "SSH", "source.ssh")?;
        Ok(RemoteFiles {
            session: Arc::new(session),
        })
    }

    fn text(path: &std::path::Path) -> io::Result<String> {
        path.to_str().map(str::to_owned).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not UTF-8 (SFTP names are text)", path.display()),
            )
        })
    }
}

impl crate::engines::files::SourceFs for RemoteFiles {
    fn lstat(&self, path: &std::path::Path) -> io::Result<crate::engines::files::EntryMeta> {
        let p = Self::text(path)?;
        let session = self.session.clone();
        let attrs = block(async move { timed("lstat", session.sftp.symlink_metadata(p)).await })??;
        let mode = attrs.permissions.unwrap_or(0);
        Ok(crate::engines::files::EntryMeta {
            kind: crate::engines::files::MetaKind::from_mode(mode),
            mode: mode & 0o7777,
            mtime: u64::from(attrs.mtime.unwrap_or(0)),
        })
    }

    fn list(&self, path: &std::path::Path) -> io::Result<Vec<std::ffi::OsString>> {
        let p = Self::text(path)?;
        let session = self.session.clone();
        let names = block(async move {
            timed("read_dir", session.sftp.read_dir(p))
                .await
                .map(|dir| dir.map(|e| e.file_name()).collect::<Vec<_>>())
        })??;
        Ok(names.into_iter().map(std::ffi::OsString::from).collect())
    }

    fn read_link(&self, path: &std::path::Path) -> io::Result<Vec<u8>> {
        let p = Self::text(path)?;
        let session = self.session.clone();
        let target = block(async move { timed("readlink", session.sftp.read_link(p)).await })??;
        Ok(target.into_bytes())
    }

    fn open(&self, path: &std::path::Path) -> io::Result<(Box<dyn Read + Send>, u64)> {
        let p = Self::text(path)?;
        let session = self.session.clone();
        let (file, size) = block(async move {
            let file = timed("open", session.sftp.open(p)).await?;
            let attrs = timed("fstat", file.metadata()).await?;
            Ok::<_, io::Error>((file, attrs.size.unwrap_or(0)))
        })??;
        Ok((Box::new(SftpReader { file: Some(file) }), size))
    }
}
