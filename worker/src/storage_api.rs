//! `POST /v1/storage/{probe,check,list,stat,delete,get,put}`: the storage explorer and retention
//! API (docs/CONTRACTS.md); `check` answers whether a spec is acceptable without touching it (the
//! adapters API asks it before saving a local destination). Storage calls block (S3 and SFTP are network clients behind the
//! blocking [`Storage`] trait), so every one runs on a blocking thread; `get` streams the
//! object through a bounded channel into the response body and can decrypt (and decompress) it
//! on the fly. A `put` with `compression`/`encryption` is sealed by [`crate::seal_api`].

use std::io::{self, BufReader, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use dbackup_protocol::storage::{
    CheckAnswer, CheckRequest, GetRequest, ListRequest, NameRequest, ObjectList, ProbeAnswer,
    ProbeRequest, PutRequest, SealedPut,
};
use dbackup_protocol::ENCRYPTED_SUFFIX;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use serde_json::Value;

use crate::error::{json_response, Error};
use crate::format::{BackupKey, Compression, DecryptReader};
use crate::http::{authorize, boxed, parse, to_value, ResponseBody, State};
use crate::seal_api::{self, MAX_SEALED_BODY_BYTES, MAX_SEALED_BYTES};
use crate::storage::{self, LocalRoots, SpecChecks, Storage, StorageSpec};
use crate::stream::Decompressor;

/// Largest `content` of `put` (a `.meta.json` sidecar).
pub const MAX_PUT_BYTES: usize = 1024 * 1024;
/// Size of the chunks `get` streams.
const GET_CHUNK: usize = 128 * 1024;
/// Chunks in flight between the storage thread and the response.
const GET_CHANNEL: usize = 4;

/// A JSON answer of a storage route.
fn answer(
    status: StatusCode,
    body: &impl serde::Serialize,
) -> Result<Response<ResponseBody>, Error> {
    Ok(boxed(json_response(status, &to_value(body)?)))
}

/// Routes one `/v1/storage/...` request (the caller has matched the prefix).
pub(crate) async fn route(
    state: &State,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Error> {
    authorize(&req, state.config.token.as_bytes())?;
    let op = req
        .uri()
        .path()
        .strip_prefix("/v1/storage/")
        .unwrap_or_default()
        .to_owned();
    if !matches!(
        op.as_str(),
        "probe" | "check" | "list" | "stat" | "delete" | "get" | "put"
    ) {
        return Err(Error::NotFound);
    }
    if req.method() != Method::POST {
        return Err(Error::MethodNotAllowed("POST"));
    }
    // A sealed put carries up to 32 MiB of content; everything else stays within 1 MiB.
    let limit = if op == "put" {
        MAX_SEALED_BODY_BYTES
    } else {
        crate::MAX_BODY_BYTES
    };
    let body = seal_api::read_json_up_to(req, limit).await?;
    let roots = state.config.local_roots.clone();
    match op.as_str() {
        "check" => {
            match parse(body)? {
                CheckRequest {
                    storage: Some(storage),
                    source: None,
                } => checked(&storage, &roots)?,
                CheckRequest {
                    storage: None,
                    source: Some(source),
                } => crate::engines::Source::from_value(source)?
                    .check_paths(&roots)
                    .map_err(|e| Error::InvalidBody(e.to_string()))?,
                _ => {
                    return Err(Error::InvalidBody(
                        "storage: send either storage or source".into(),
                    ))
                }
            }
            answer(StatusCode::OK, &CheckAnswer { ok: true })
        }
        "probe" => {
            let r: ProbeRequest = parse(body)?;
            checked(&r.storage, &roots)?;
            let started = Instant::now();
            let outcome = blocking(move || probe(&r.storage, &roots)).await?;
            let latency_ms = started.elapsed().as_millis() as u64;
            let (ok, message) = match outcome {
                Ok(message) => (true, message),
                Err(e) => (false, e.to_string()),
            };
            answer(
                StatusCode::OK,
                &ProbeAnswer {
                    ok,
                    latency_ms,
                    message,
                },
            )
        }
        "list" => {
            let r: ListRequest = parse(body)?;
            checked(&r.storage, &roots)?;
            let listed = blocking(move || storage::open(&r.storage, &roots)?.list(&r.prefix))
                .await?
                .map_err(Error::Storage)?;
            answer(StatusCode::OK, &ObjectList { objects: listed })
        }
        "stat" => {
            let r: NameRequest = parse(body)?;
            checked(&r.storage, &roots)?;
            let info = blocking(move || storage::open(&r.storage, &roots)?.stat(&r.name))
                .await?
                .map_err(Error::Storage)?;
            answer(StatusCode::OK, &info)
        }
        "delete" => {
            let r: NameRequest = parse(body)?;
            checked(&r.storage, &roots)?;
            blocking(move || storage::open(&r.storage, &roots)?.delete(&r.name))
                .await?
                .map_err(Error::Storage)?;
            Ok(no_content())
        }
        "put" => {
            let r: PutRequest = parse(body)?;
            checked(&r.storage, &roots)?;
            let compression = r.compression.unwrap_or(Compression::None);
            if r.encryption.is_some() || compression != Compression::None {
                if r.content.len() > MAX_SEALED_BYTES {
                    return Err(Error::ContentTooLarge {
                        what: "content",
                        limit: MAX_SEALED_BYTES,
                    });
                }
                let key = r
                    .encryption
                    .as_ref()
                    .map(crate::tasks::encryption_key)
                    .transpose()?;
                let name = r.name.clone();
                let sealed = blocking(move || {
                    seal_api::seal_to_storage(
                        &r.storage,
                        &roots,
                        &r.name,
                        r.content.as_bytes(),
                        compression,
                        key.as_ref(),
                        r.overwrite,
                    )
                })
                .await?
                .map_err(Error::Storage)?;
                return answer(
                    StatusCode::OK,
                    &SealedPut {
                        name,
                        size: sealed.size,
                        sha256: sealed.sha256,
                    },
                );
            }
            if r.content.len() > MAX_PUT_BYTES {
                return Err(Error::InvalidBody(format!(
                    "content: at most {MAX_PUT_BYTES} bytes"
                )));
            }
            blocking(move || put(&r, &roots))
                .await?
                .map_err(Error::Storage)?;
            Ok(no_content())
        }
        _ => get(parse(body)?, roots).await,
    }
}

/// Spec checks that need no network, and the local roots: 400 on failure.
fn checked(spec: &StorageSpec, roots: &LocalRoots) -> Result<(), Error> {
    spec.validate()
        .and_then(|()| spec.check_roots(roots))
        .map_err(|e| Error::InvalidBody(e.to_string()))
}

/// Runs a blocking storage call on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("storage call failed: {e}")))
}

fn no_content() -> Response<ResponseBody> {
    let mut response = boxed(json_response(StatusCode::NO_CONTENT, &Value::Null));
    *response.body_mut() = http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed();
    response.headers_mut().remove(header::CONTENT_TYPE);
    response
}

/// Lists, writes, reads back and deletes a probe object under the base.
fn probe(spec: &StorageSpec, roots: &LocalRoots) -> io::Result<String> {
    let s = storage::open(spec, roots)?;
    let suffix: [u8; 8] = crate::format::random_bytes().map_err(io::Error::other)?;
    let name = format!(".dbackup-probe-{}", hex::encode(suffix));
    let content = format!("dbackup storage probe {name}\n");
    s.list(&name)?;
    let mut w = s.put(&name)?;
    w.write_all(content.as_bytes())?;
    w.commit()?;
    let mut back = String::new();
    let read = s.get(&name).and_then(|mut r| r.read_to_string(&mut back));
    let deleted = s.delete(&name);
    read?;
    if back != content {
        return Err(io::Error::other(
            "the probe object read back differs from what was written",
        ));
    }
    deleted?;
    Ok(format!(
        "listed, wrote, read back and deleted a probe object at {}",
        s.location(&name)
    ))
}

/// Writes a small object, replacing an existing one when asked to.
fn put(r: &PutRequest, roots: &LocalRoots) -> io::Result<()> {
    let s = storage::open(&r.storage, roots)?;
    storage::validate_name(&r.name)?;
    // With overwrite, the backend replaces atomically at commit (never delete-then-write).
    let mut w = if r.overwrite {
        s.put_replace(&r.name)?
    } else {
        s.put(&r.name)?
    };
    w.write_all(r.content.as_bytes())?;
    w.commit()
}

/// Streams an object (decrypted with `decrypt.keyHex` when given) as the response body.
async fn get(r: GetRequest, roots: LocalRoots) -> Result<Response<ResponseBody>, Error> {
    checked(&r.storage, &roots)?;
    let key = r
        .decrypt
        .as_ref()
        .map(|d| BackupKey::from_hex(&d.key_hex))
        .transpose()
        .map_err(|e| Error::InvalidBody(format!("decrypt.keyHex: {e}")))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(GET_CHANNEL);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<Option<u64>, Opened>>();
    let name = r.name.clone();
    let decrypting = key.is_some();
    let decompress = r.decompress;
    let hint = r.compression.unwrap_or(Compression::None);
    tokio::task::spawn_blocking(move || {
        let opened = (|| -> Result<OpenedObject, Opened> {
            let s = storage::open(&r.storage, &roots).map_err(Opened::Storage)?;
            let size = match key {
                None if !decompress => Some(s.stat(&r.name).map_err(Opened::Storage)?.size),
                _ => None,
            };
            let reader = s.get(&r.name).map_err(Opened::Storage)?;
            let reader: Box<dyn Read + Send> = match (&key, decompress) {
                (Some(key), false) => Box::new(
                    DecryptReader::new(BufReader::with_capacity(64 * 1024, reader), key)
                        .map_err(|e| Opened::Decrypt(e.to_string()))?,
                ),
                (Some(key), true) => {
                    let decrypted =
                        DecryptReader::new(BufReader::with_capacity(64 * 1024, reader), key)
                            .map_err(|e| Opened::Decrypt(e.to_string()))?;
                    let compression = decrypted.header().compression;
                    Box::new(
                        Decompressor::new(compression, decrypted)
                            .map_err(|e| Opened::Decrypt(e.to_string()))?,
                    )
                }
                (None, true) => Box::new(
                    Decompressor::new(hint, BufReader::with_capacity(64 * 1024, reader))
                        .map_err(|e| Opened::Decrypt(e.to_string()))?,
                ),
                (None, false) => reader,
            };
            Ok((s, reader, size))
        })();
        let (s, mut reader, size) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        if ready_tx.send(Ok(size)).is_err() {
            return;
        }
        let mut buf = vec![0u8; GET_CHUNK];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break; // the client went away
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // An error frame makes hyper abort the response: the client sees a
                    // truncated transfer, never a clean end.
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
        drop(reader);
        drop(s);
    });
    let size = match ready_rx.await {
        Ok(Ok(size)) => size,
        Ok(Err(Opened::Storage(e))) => return Err(Error::Storage(e)),
        Ok(Err(Opened::Decrypt(details))) => {
            return Err(Error::Unreadable {
                error: "cannot decrypt",
                details,
            })
        }
        Err(_) => return Err(Error::Internal("storage reader stopped".into())),
    };
    let base = name.rsplit('/').next().unwrap_or("object");
    let base = if decrypting {
        base.strip_suffix(ENCRYPTED_SUFFIX).unwrap_or(base)
    } else {
        base
    };
    let base = if decompress {
        [Compression::Gzip, Compression::Zstd, Compression::Brotli]
            .iter()
            .find_map(|c| base.strip_suffix(c.suffix()))
            .unwrap_or(base)
    } else {
        base
    };
    let filename = base.replace(['"', '\\'], "_");
    let mut response = Response::new(ChannelBody { rx }.boxed());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(size) = size {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// A storage, a reader of one of its objects and the object's size (when known).
type OpenedObject = (Box<dyn Storage>, Box<dyn Read + Send>, Option<u64>);

/// Why `get` could not start streaming.
enum Opened {
    Storage(io::Error),
    Decrypt(String),
}

/// Response body fed by the storage thread.
struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|r| r.map(Frame::data)))
    }
}
