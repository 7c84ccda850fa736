//! S3-compatible object storage.
//!
//! Requests are presigned with `rusty-s3` (SigV4, query-string auth, `UNSIGNED-PAYLOAD`) and
//! sent with `ureq`: a small *blocking* HTTP client, which fits the blocking [`Storage`] trait
//! without a second async runtime or `block_on` bridges, streams response bodies as
//! `std::io::Read`, and uses rustls with the `ring` provider (no C toolchain, no OpenSSL).
//!
//! Writes buffer one part ([`PART_SIZE`] bytes, growing for very large objects, see
//! [`part_size`]): an object smaller than one part is sent with a single `PUT` at commit;
//! larger ones become a multipart upload whose parts are sent by a background thread as they
//! fill (one part uploading while the next fills: two part buffers). Any write error aborts
//! the multipart upload, and so does dropping an uncommitted writer, so a failed backup never
//! leaves a complete-looking object (S3 only makes a multipart object visible on
//! `CompleteMultipartUpload`). Plain `put`s never overwrite (HEAD, then `If-None-Match: *` on
//! the final request); `put_replace` relies on S3's atomic replacement. Reads resume after a
//! dropped connection with ranged `GET`s ([`GET_RETRIES`]).

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::Duration;

use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};

use super::{validate_name, ObjectInfo, ObjectWriter, S3Spec, Storage};

/// Size of the first multipart parts (and of the writer's buffer).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts sent at one size before the size doubles (S3 allows 10,000 parts per upload).
const PARTS_PER_SIZE: usize = 2000;

/// Size of the part after `sent` parts: 8 MiB for the first 2,000 (16 GiB), then 16, 32, 64
/// and 128 MiB per 2,000 parts, so 10,000 parts hold ~485 GiB while an ordinary backup's
/// memory stays at two 8 MiB buffers.
fn part_size(sent: usize) -> usize {
    PART_SIZE << (sent / PARTS_PER_SIZE).min(4)
}
/// Lifetime of a presigned request URL.
const SIGN_TTL: Duration = Duration::from_secs(3600);
/// Connection timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a response (or between body bytes).
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Times one object read resumes after a dropped connection.
pub const GET_RETRIES: u32 = 5;
/// Largest error/listing body read into memory.
const MAX_SMALL_BODY: u64 = 16 * 1024 * 1024;

/// Validates an S3 spec without network access.
pub fn validate(spec: &S3Spec) -> io::Result<()> {
    let invalid = |m: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, m.to_owned()));
    let url = match url::Url::parse(&spec.endpoint) {
        Ok(url) => url,
        Err(_) => return invalid("storage.endpoint: not a URL"),
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return invalid("storage.endpoint: must be an http(s) URL with a host");
    }
    if let Err(why) = dbackup_core::net::check_url(&spec.endpoint) {
        return invalid(&format!("storage.endpoint: {why}"));
    }
    if spec.bucket.is_empty() || spec.bucket.contains('/') {
        return invalid("storage.bucket: must be a bucket name");
    }
    if spec.region.is_empty() {
        return invalid("storage.region: must not be empty");
    }
    if spec.access_key_id.is_empty() || spec.secret_access_key.is_empty() {
        return invalid("storage: accessKeyId and secretAccessKey are required");
    }
    Ok(())
}

/// A bucket (and key prefix) on an S3-compatible server. Cheap to clone.
#[derive(Clone)]
pub struct S3Storage {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    /// Normalised key prefix: empty or ending in `/`.
    prefix: String,
    endpoint: String,
}

impl S3Storage {
    /// Builds the client; no request is made yet.
    pub fn new(spec: &S3Spec) -> io::Result<Self> {
        validate(spec)?;
        let endpoint = url::Url::parse(&spec.endpoint)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let style = if spec.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint, style, spec.bucket.clone(), spec.region.clone())
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("storage: cannot address bucket {:?}: {e}", spec.bucket),
                )
            })?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(IO_TIMEOUT))
            .timeout_per_read(Some(IO_TIMEOUT))
            .timeout_per_write(Some(IO_TIMEOUT))
            .build();
        let prefix: Vec<&str> = spec
            .prefix
            .as_deref()
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let mut prefix = prefix.join("/");
        if !prefix.is_empty() {
            validate_name(&prefix)?;
            prefix.push('/');
        }
        Ok(S3Storage {
            bucket,
            credentials: Credentials::new(
                spec.access_key_id.clone(),
                spec.secret_access_key.clone(),
            ),
            // Every address the endpoint resolves to is checked (crate::outbound).
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
                crate::outbound::CheckedResolver::default(),
            ),
            prefix,
            endpoint: spec.endpoint.trim_end_matches('/').to_owned(),
        })
    }

    fn key(&self, name: &str) -> io::Result<String> {
        validate_name(name)?;
        Ok(format!("{}{name}", self.prefix))
    }

    /// Sends a request and turns transport failures into clear errors.
    fn send(
        &self,
        what: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> io::Result<ureq::http::Response<ureq::Body>> {
        result.map_err(|e| self.transport_error(what, e))
    }

    fn transport_error(&self, what: &str, e: ureq::Error) -> io::Error {
        let kind = match &e {
            ureq::Error::Timeout(_) => io::ErrorKind::TimedOut,
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
                io::ErrorKind::ConnectionRefused
            }
            ureq::Error::Io(io) => io.kind(),
            _ => io::ErrorKind::Other,
        };
        io::Error::new(
            kind,
            format!(
                "S3 {what}: cannot reach the endpoint {}: {e}",
                self.endpoint
            ),
        )
    }

    /// Turns a non-success response into an error naming the S3 error code.
    fn status_error(
        &self,
        what: &str,
        key: &str,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> io::Error {
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let code = xml_text(&body, "Code").unwrap_or_default();
        let message = xml_text(&body, "Message").unwrap_or_default();
        let bucket = self.bucket.name();
        let (kind, text) = match (status, code.as_str()) {
            (_, "NoSuchBucket") => (
                io::ErrorKind::NotFound,
                format!("bucket {bucket:?} does not exist"),
            ),
            (_, "NoSuchKey") | (404, "") => {
                (io::ErrorKind::NotFound, format!("object {key:?} not found"))
            }
            (_, "SignatureDoesNotMatch") => (
                io::ErrorKind::PermissionDenied,
                "the secret access key is wrong (SignatureDoesNotMatch)".to_owned(),
            ),
            (_, "InvalidAccessKeyId" | "NotSignedUp") => (
                io::ErrorKind::PermissionDenied,
                format!("the access key id is unknown to the server ({code})"),
            ),
            (403, "AccessDenied") | (403, "") => (
                io::ErrorKind::PermissionDenied,
                format!("access denied to bucket {bucket:?}: check the credentials and policy"),
            ),
            _ => (
                io::ErrorKind::Other,
                format!("HTTP {status} {code} {message}").trim().to_owned(),
            ),
        };
        io::Error::new(kind, format!("S3 {what}: {text}"))
    }

    fn head(&self, key: &str) -> io::Result<Option<(u64, u64)>> {
        let url = self
            .bucket
            .head_object(Some(&self.credentials), key)
            .sign(SIGN_TTL);
        let response = self.send("stat", self.agent.head(url.as_str()).call())?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if !response.status().is_success() {
            // HEAD responses have no body: name the likely causes by status.
            return Err(match status {
                403 => io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "S3 stat: access denied to bucket {:?}: wrong credentials or missing permission",
                        self.bucket.name()
                    ),
                ),
                _ => self.status_error("stat", key, response),
            });
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let size = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let modified = header("last-modified")
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(&v).ok())
            .map_or(0, |t| t.timestamp().max(0) as u64);
        Ok(Some((size, modified)))
    }

    /// `GET` of `key` from byte `offset` (a `Range` request when `offset > 0`), pinned to
    /// `etag` when given (`If-Match`, so a resumed read never mixes two versions). Returns
    /// the body, its length when known, and the object's ETag.
    fn open_range(
        &self,
        name: &str,
        key: &str,
        offset: u64,
        etag: Option<&str>,
    ) -> io::Result<RangeResponse> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGN_TTL);
        let mut request = self.agent.get(url.as_str());
        if offset > 0 {
            request = request.header("range", format!("bytes={offset}-"));
        }
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        let response = self.send("get", request.call())?;
        let status = response.status().as_u16();
        if status == 412 {
            return Err(io::Error::other(format!(
                "S3 get: object {name:?} changed while it was being read"
            )));
        }
        if !response.status().is_success() || (offset > 0 && status != 206) {
            if offset > 0 && status == 200 {
                return Err(io::Error::other(
                    "S3 get: the server ignored the Range request; cannot resume",
                ));
            }
            return Err(self.status_error("get", name, response));
        }
        let header = |h: &str| {
            response
                .headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let length = header("content-length").and_then(|v| v.parse().ok());
        let etag = header("etag");
        Ok((Box::new(response.into_body().into_reader()), length, etag))
    }

    /// Aborts a multipart upload (best effort).
    fn abort(&self, key: &str, upload_id: &str) {
        let url = self
            .bucket
            .abort_multipart_upload(Some(&self.credentials), key, upload_id)
            .sign(SIGN_TTL);
        let _ = self.agent.delete(url.as_str()).call();
    }

    /// Verifies that the bucket exists and the credentials work (a one-key listing).
    pub fn check(&self) -> io::Result<()> {
        self.list_page(&self.prefix, None, Some(1)).map(|_| ())
    }

    fn list_page(
        &self,
        prefix: &str,
        token: Option<&str>,
        max_keys: Option<usize>,
    ) -> io::Result<rusty_s3::actions::ListObjectsV2Response> {
        let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
        if !prefix.is_empty() {
            action.with_prefix(prefix);
        }
        if let Some(token) = token {
            action.with_continuation_token(token);
        }
        if let Some(max) = max_keys {
            action.with_max_keys(max);
        }
        let url = action.sign(SIGN_TTL);
        let mut response = self.send("list", self.agent.get(url.as_str()).call())?;
        if !response.status().is_success() {
            return Err(self.status_error("list", prefix, response));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_SMALL_BODY)
            .read_to_string()
            .map_err(|e| io::Error::other(format!("S3 list: reading the response: {e}")))?;
        ListObjectsV2::parse_response(&body)
            .map_err(|e| io::Error::other(format!("S3 list: unexpected response: {e}")))
    }
}

impl Storage for S3Storage {
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        let key = self.key(name)?;
        // Refuse names that exist now; the commit checks again and makes its final request
        // conditional (`If-None-Match: *`) where the server supports that.
        if self.head(&key)?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("object {name:?} already exists"),
            ));
        }
        Ok(Box::new(S3Writer {
            storage: self.clone(),
            key,
            buf: Vec::new(),
            upload: None,
            failed: false,
            replace: false,
            parts_sent: 0,
        }))
    }

    fn put_replace(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        // A PUT (or CompleteMultipartUpload) replaces the object atomically: no delete first.
        Ok(Box::new(S3Writer {
            storage: self.clone(),
            key: self.key(name)?,
            buf: Vec::new(),
            upload: None,
            failed: false,
            replace: true,
            parts_sent: 0,
        }))
    }

    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        self.get_from(name, 0)
    }

    fn get_from(&self, name: &str, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        let key = self.key(name)?;
        let (body, length, etag) = self.open_range(name, &key, offset, None)?;
        Ok(Box::new(ResumingReader {
            storage: self.clone(),
            name: name.to_owned(),
            key,
            body: Some(body),
            offset,
            end: length.map(|l| offset + l),
            etag,
            retries_left: GET_RETRIES,
        }))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let full = format!("{}{prefix}", self.prefix);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_page(&full, token.as_deref(), None)?;
            for object in page.contents {
                let Some(name) = object.key.strip_prefix(&self.prefix) else {
                    continue;
                };
                out.push(ObjectInfo {
                    name: name.to_owned(),
                    size: object.size.unwrap_or(0),
                    modified_unix: object
                        .last_modified
                        .as_deref()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map_or(0, |t| t.timestamp().max(0) as u64),
                });
            }
            match page.next_continuation_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn stat(&self, name: &str) -> io::Result<ObjectInfo> {
        let key = self.key(name)?;
        match self.head(&key)? {
            Some((size, modified_unix)) => Ok(ObjectInfo {
                name: name.to_owned(),
                size,
                modified_unix,
            }),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("object {name:?} not found"),
            )),
        }
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        let key = self.key(name)?;
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), &key)
            .sign(SIGN_TTL);
        let response = self.send("delete", self.agent.delete(url.as_str()).call())?;
        if response.status().is_success() || response.status().as_u16() == 404 {
            return Ok(());
        }
        Err(self.status_error("delete", name, response))
    }

    fn location(&self, name: &str) -> String {
        format!("s3://{}/{}{name}", self.bucket.name(), self.prefix)
    }
}

/// A (ranged) `GET`'s body, its length when known, and the object's ETag.
type RangeResponse = (Box<dyn Read + Send>, Option<u64>, Option<String>);

/// Reader of one S3 object that survives dropped connections: on a read error (or an early
/// end) it re-requests the rest with `Range: bytes=<offset>-` pinned to the first response's
/// ETag, at most [`GET_RETRIES`] times per object, with a short backoff.
struct ResumingReader {
    storage: S3Storage,
    name: String,
    key: String,
    body: Option<Box<dyn Read + Send>>,
    /// Bytes of the object delivered so far.
    offset: u64,
    /// The object's size, when the server said.
    end: Option<u64>,
    etag: Option<String>,
    retries_left: u32,
}

impl ResumingReader {
    fn resume(&mut self, cause: io::Error) -> io::Result<()> {
        self.body = None;
        if self.retries_left == 0 {
            return Err(io::Error::new(
                cause.kind(),
                format!(
                    "S3 get: {cause} (at byte {} of {:?}, after {GET_RETRIES} resumed attempts)",
                    self.offset, self.name
                ),
            ));
        }
        let attempt = GET_RETRIES - self.retries_left;
        self.retries_left -= 1;
        std::thread::sleep(Duration::from_millis(200 << attempt.min(4)));
        let (body, _, _) =
            self.storage
                .open_range(&self.name, &self.key, self.offset, self.etag.as_deref())?;
        self.body = Some(body);
        Ok(())
    }
}

impl Read for ResumingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.end == Some(self.offset) {
            return Ok(0);
        }
        loop {
            let result = match self.body.as_mut() {
                Some(body) => body.read(buf),
                None => Err(io::Error::other("S3 get: no response body")),
            };
            match result {
                Ok(0) if self.end.is_some_and(|end| self.offset < end) => {
                    self.resume(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection ended early",
                    ))?;
                }
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.resume(e)?,
            }
        }
    }
}

/// Writer of one S3 object. Fills one part buffer; once it is full a multipart upload starts
/// and parts go to a background uploader thread through a rendezvous channel, so one part
/// uploads while the next fills (at most two part buffers per writer).
struct S3Writer {
    storage: S3Storage,
    key: String,
    buf: Vec<u8>,
    upload: Option<Uploader>,
    failed: bool,
    /// Replace an existing object; otherwise the final request is conditional
    /// (`If-None-Match: *`) where the server supports it.
    replace: bool,
    /// Parts handed to the uploader so far.
    parts_sent: usize,
}

/// The multipart upload in progress and its uploader thread.
struct Uploader {
    upload_id: String,
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<io::Result<Vec<String>>>>,
}

impl Uploader {
    /// Closes the part channel and waits for the uploader: the ETags of every part, or the
    /// first upload error.
    fn finish(&mut self) -> io::Result<Vec<String>> {
        self.tx = None;
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("S3 upload: uploader panicked"))),
            None => Err(io::Error::other("S3 upload: uploader already finished")),
        }
    }
}

impl S3Storage {
    fn create_multipart(&self, key: &str) -> io::Result<String> {
        let url = self
            .bucket
            .create_multipart_upload(Some(&self.credentials), key)
            .sign(SIGN_TTL);
        let mut response = self.send("upload", self.agent.post(url.as_str()).send(&[][..]))?;
        if !response.status().is_success() {
            return Err(self.status_error("upload", key, response));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(|e| io::Error::other(format!("S3 upload: {e}")))?;
        let created =
            rusty_s3::actions::CreateMultipartUpload::parse_response(&body).map_err(|e| {
                io::Error::other(format!(
                    "S3 upload: unexpected CreateMultipartUpload response: {e}"
                ))
            })?;
        Ok(created.upload_id().to_owned())
    }

    /// Uploads part `number` (1-based); returns its ETag.
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: usize,
        data: &[u8],
    ) -> io::Result<String> {
        let number = u16::try_from(number)
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| io::Error::other("S3 upload: more than 10,000 parts"))?;
        let url = self
            .bucket
            .upload_part(Some(&self.credentials), key, number, upload_id)
            .sign(SIGN_TTL);
        let response = self.send("upload", self.agent.put(url.as_str()).send(data))?;
        if !response.status().is_success() {
            return Err(self.status_error("upload", key, response));
        }
        response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| io::Error::other("S3 upload: the server returned no ETag for a part"))
    }

    fn complete(
        &self,
        key: &str,
        upload_id: &str,
        etags: &[String],
        exclusive: bool,
    ) -> io::Result<()> {
        let action = self.bucket.complete_multipart_upload(
            Some(&self.credentials),
            key,
            upload_id,
            etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGN_TTL);
        let body = action.body();
        let mut request = self.agent.post(url.as_str());
        if exclusive {
            request = request.header("if-none-match", "*");
        }
        let mut response = self.send("upload", request.send(body.as_bytes()))?;
        if exclusive {
            match conditional_outcome(response.status().as_u16()) {
                Conditional::Exists => return Err(exists_error(key)),
                Conditional::Unsupported => {
                    // No conditional writes here: fall back to a check right before.
                    if self.head(key)?.is_some() {
                        return Err(exists_error(key));
                    }
                    return self.complete(key, upload_id, etags, false);
                }
                Conditional::Other => {}
            }
        }
        // CompleteMultipartUpload may answer 200 with an error document.
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        if !status.is_success() || text.contains("<Error>") {
            let code = xml_text(&text, "Code").unwrap_or_default();
            return Err(io::Error::other(format!(
                "S3 upload: completing the multipart upload failed: HTTP {} {code}",
                status.as_u16()
            )));
        }
        Ok(())
    }
}

impl S3Writer {
    /// Aborts the multipart upload (if any) after an error and remembers the failure.
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.failed = true;
        if let Some(mut upload) = self.upload.take() {
            let _ = upload.finish();
            self.storage.abort(&self.key, &upload.upload_id);
        }
        e
    }

    /// Hands the full buffer to the uploader, starting the multipart upload on the first part.
    fn send_part(&mut self) -> io::Result<()> {
        if self.upload.is_none() {
            let upload_id = self.storage.create_multipart(&self.key)?;
            let (tx, rx) = sync_channel::<Vec<u8>>(0);
            let (storage, key, id) = (self.storage.clone(), self.key.clone(), upload_id.clone());
            let thread = std::thread::Builder::new()
                .name("dbackup-s3-upload".into())
                .spawn(move || -> io::Result<Vec<String>> {
                    let mut etags = Vec::new();
                    for part in rx {
                        etags.push(storage.upload_part(&key, &id, etags.len() + 1, &part)?);
                    }
                    Ok(etags)
                })?;
            self.upload = Some(Uploader {
                upload_id,
                tx: Some(tx),
                thread: Some(thread),
            });
        }
        self.parts_sent += 1;
        let part = std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(part_size(self.parts_sent)),
        );
        let sent = self
            .upload
            .as_ref()
            .and_then(|u| u.tx.as_ref())
            .map(|tx| tx.send(part).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        // The uploader stopped: its error explains why.
        let error = match self.upload.as_mut().map(Uploader::finish) {
            Some(Err(e)) => e,
            _ => io::Error::other("S3 upload: the part uploader stopped"),
        };
        Err(error)
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.replace && self.storage.head(&self.key)?.is_some() {
            // Taken while this object was written (servers that ignore `If-None-Match`
            // would otherwise let the final request overwrite it).
            return Err(exists_error(&self.key));
        }
        if self.upload.is_none() {
            let s = &self.storage;
            let url = s
                .bucket
                .put_object(Some(&s.credentials), &self.key)
                .sign(SIGN_TTL);
            let mut exclusive = !self.replace;
            loop {
                let mut request = s.agent.put(url.as_str());
                if exclusive {
                    request = request.header("if-none-match", "*");
                }
                let response = s.send("upload", request.send(&self.buf[..]))?;
                if exclusive {
                    match conditional_outcome(response.status().as_u16()) {
                        Conditional::Exists => return Err(exists_error(&self.key)),
                        Conditional::Unsupported => {
                            if s.head(&self.key)?.is_some() {
                                return Err(exists_error(&self.key));
                            }
                            exclusive = false;
                            continue;
                        }
                        Conditional::Other => {}
                    }
                }
                if !response.status().is_success() {
                    return Err(s.status_error("upload", &self.key, response));
                }
                return Ok(());
            }
        }
        if !self.buf.is_empty() {
            self.send_part()?;
        }
        let Some(mut upload) = self.upload.take() else {
            return Err(io::Error::other("S3 upload: no upload in progress"));
        };
        let etags = match upload.finish() {
            Ok(etags) => etags,
            Err(e) => {
                self.upload = Some(upload); // aborted by `fail`
                return Err(e);
            }
        };
        if let Err(e) = self
            .storage
            .complete(&self.key, &upload.upload_id, &etags, !self.replace)
        {
            self.upload = Some(upload);
            return Err(e);
        }
        Ok(())
    }
}

impl Write for S3Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("S3 upload already failed"));
        }
        let size = part_size(self.parts_sent);
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(size);
        }
        let take = data.len().min(size - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == size {
            if let Err(e) = self.send_part() {
                return Err(self.fail(e));
            }
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for S3Writer {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("S3 upload already failed"));
        }
        match self.finish() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        // Not committed: stop the uploader and abort, so no part outlives the writer.
        if let Some(mut upload) = self.upload.take() {
            let _ = upload.finish();
            self.storage.abort(&self.key, &upload.upload_id);
        }
    }
}

/// How a server answered a conditional (`If-None-Match: *`) write.
enum Conditional {
    /// 412: the object exists.
    Exists,
    /// 501 (or 400 naming the header): no conditional writes on this server.
    Unsupported,
    /// Anything else: handled as an unconditional answer.
    Other,
}

fn conditional_outcome(status: u16) -> Conditional {
    match status {
        412 => Conditional::Exists,
        501 => Conditional::Unsupported,
        _ => Conditional::Other,
    }
}

fn exists_error(key: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("object {key:?} already exists"),
    )
}

/// The text of the first `<tag>…</tag>` in an XML document (enough for S3 error bodies).
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_grow_to_fit_10000_parts() {
        assert_eq!(part_size(0), PART_SIZE);
        assert_eq!(part_size(1999), PART_SIZE);
        assert_eq!(part_size(2000), 2 * PART_SIZE);
        assert_eq!(part_size(9999), 16 * PART_SIZE);
        let total: usize = (0..10_000).map(part_size).sum();
        assert!(total > 480 << 30, "{total}");
    }

    #[test]
    fn error_codes_are_extracted() {
        let body =
            "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>m</Message></Error>";
        assert_eq!(xml_text(body, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_text(body, "Message").as_deref(), Some("m"));
        assert_eq!(xml_text(body, "Nope"), None);
    }

    #[test]
    fn specs_are_validated() {
        let spec = |endpoint: &str| S3Spec {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            bucket: "b".into(),
            prefix: Some("/a//b/".into()),
            path_style: true,
            access_key_id: "AK".into(),
            secret_access_key: "SK".into(),
        };
        assert!(validate(&spec("ftp://x")).is_err());
        assert!(validate(&spec("not a url")).is_err());
        let s = S3Storage::new(&spec("http://127.0.0.1:9")).unwrap();
        assert_eq!(s.prefix, "a/b/");
        assert_eq!(s.key("x/y").unwrap(), "a/b/x/y");
        assert!(s.key("../y").is_err());
        assert_eq!(s.location("x"), "s3://b/a/b/x");
        let debug = format!("{:?}", spec("http://h"));
        assert!(!debug.contains("\"SK\""), "{debug}");
        assert!(debug.contains("AK"), "{debug}");
    }
}
