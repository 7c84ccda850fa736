#!/usr/bin/env python3
"""Decrypt and decompress a dbackup backup with nothing but its key.

    python3 dbackup_decrypt.py --key-file key.hex -o shop.dump nightly/2026-11-27T03-00-00Z_shop.dump.zst.dbk
    python3 dbackup_decrypt.py --key-file key.hex backup.sql.gz.dbk | mariadb shop
    python3 dbackup_decrypt.py backup.db.br -o app.db          # unencrypted: compression from the suffix
    python3 dbackup_decrypt.py --private-key-file private.key backup.dump.zst.dbk -o shop.dump
                                                               # write-only profile (version 2)

Reads the DBKENC01 container described in FORMAT.md: a 32-byte header, then AES-256-GCM
chunks with STREAM nonces (nonce prefix || chunk index || last-chunk flag) and the header as
associated data. Version 2 (write-only profiles) adds the 32-byte ephemeral X25519 public key
to the header; the chunks' key is HKDF-SHA256 of X25519(private key, ephemeral key), so
only the holder of the profile's private key opens it. Every chunk is authenticated before any of its bytes are decompressed or
written; a wrong key, a modified byte, reordered chunks or a truncated file stop the run with
a message naming the cause and exit status 1. With -o the output is written to a temporary
file and renamed only when everything authenticated and decompressed, so nothing is left
behind on failure.

Needs Python 3.8+ and the `cryptography` package; `zstandard` for .zst and `brotli` for .br
backups (gzip uses the standard library). Exit status: 0 success, 1 data error, 2 usage error.
"""

import argparse
import hashlib
import os
import struct
import sys
import tempfile
import zlib

MAGIC = b"DBKENC01"
HEADER_LEN = 32
TAG_LEN = 16
MIN_CHUNK = 16
MAX_CHUNK = 16 << 20
FINGERPRINT_DOMAIN = b"dbackup key fingerprint v1\0"
PUBLIC_FINGERPRINT_DOMAIN = b"dbackup public key fingerprint v1\0"
HKDF_INFO = b"dbackup x25519 content key v2"
PUBLIC_HEADER_LEN = 64
COMPRESSIONS = {0: "none", 1: "gzip", 2: "zstd", 3: "brotli"}
SUFFIXES = {".gz": "gzip", ".zst": "zstd", ".br": "brotli"}
BLOCK = 1 << 16


class DataError(Exception):
    """The input cannot be recovered (wrong key, corruption, truncation, bad compression)."""


class UsageError(Exception):
    """The command line or the key is wrong."""


def fingerprint(key):
    return hashlib.sha256(FINGERPRINT_DOMAIN + key).digest()[:8].hex()


def public_fingerprint(public):
    return hashlib.sha256(PUBLIC_FINGERPRINT_DOMAIN + public).digest()[:8].hex()


def parse_private_key(text):
    """64 hex characters, or the JSON `dbackup-recover keygen` printed (its privateKey)."""
    text = text.strip()
    if text.startswith("{"):
        import json

        try:
            text = str(json.loads(text).get("privateKey", ""))
        except (ValueError, AttributeError):
            text = ""
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise UsageError("the private key must be 64 hex characters (32 bytes)")
    return key


def x25519_content_key(private, ephemeral_public):
    """(recipient public key, chunk key) of a version 2 container (FORMAT.md)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    sk = X25519PrivateKey.from_private_bytes(private)
    public = sk.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    try:
        shared = sk.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    except ValueError:
        shared = b"\0" * 32
    if shared == b"\0" * 32:
        raise DataError("invalid container header: the ephemeral public key is of low order")
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + public, info=HKDF_INFO
    ).derive(shared)
    return public, key


def parse_key(text):
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise UsageError("the key must be 64 hex characters (32 bytes)")
    return key


def read_exactly(f, n):
    """Reads up to n bytes, fewer only at the end of the input."""
    parts = []
    while n > 0:
        part = f.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def parse_header(header):
    if len(header) < len(MAGIC) or header[: len(MAGIC)] != MAGIC:
        raise DataError("not a dbackup encrypted file (magic DBKENC01 missing)")
    if len(header) < HEADER_LEN:
        raise DataError("truncated: the file ends inside the header")
    version, cipher, compression, reserved1 = header[8], header[9], header[10], header[11]
    (chunk_size,) = struct.unpack(">I", header[12:16])
    if version not in (1, 2):
        raise DataError("unsupported container version %d (this script reads 1 and 2)" % version)
    if cipher != 1:
        raise DataError("unsupported cipher id %d" % cipher)
    if compression not in COMPRESSIONS:
        raise DataError("invalid container header: unknown compression id %d" % compression)
    if reserved1 != 0 or header[31] != 0:
        raise DataError("invalid container header: reserved bytes are not zero")
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise DataError("invalid container header: chunk size %d out of range" % chunk_size)
    return {
        "version": version,
        "compression": COMPRESSIONS[compression],
        "chunk_size": chunk_size,
        "fingerprint": header[16:24].hex(),
        "nonce_prefix": header[24:31],
    }


def decrypted_chunks(f, key, header_bytes, header):
    """Yields the plaintext chunk by chunk, each one authenticated before it is yielded."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    size = header["chunk_size"] + TAG_LEN
    prefix = header["nonce_prefix"]

    def nonce(i, last):
        return prefix + struct.pack(">I", i) + (b"\x01" if last else b"\x00")

    index = 0
    piece = read_exactly(f, size)
    while True:
        if len(piece) == size:
            ahead = f.read(1)
            last = not ahead
        else:
            ahead = b""
            last = True
        if len(piece) < TAG_LEN:
            raise DataError(
                "truncated: the file ends after %d chunks, before the final chunk" % index
            )
        if index >= 1 << 32:
            raise DataError("too many chunks (more than 2^32)")
        try:
            plain = aead.decrypt(nonce(index, last), piece, header_bytes)
        except (InvalidTag, ValueError):
            corrupt = DataError(
                "corrupt chunk %d: authentication failed (modified, reordered or damaged data)"
                % index
            )
            if not last:
                raise corrupt
            try:
                aead.decrypt(nonce(index, False), piece, header_bytes)
            except (InvalidTag, ValueError):
                if len(piece) < size and index > 0:
                    raise DataError(
                        "truncated or corrupt: the file ends inside chunk %d, which does not authenticate"
                        % index
                    )
                raise corrupt
            raise DataError(
                "truncated: the file ends after %d chunks, before the final chunk" % (index + 1)
            )
        yield plain
        if last:
            return
        index += 1
        piece = ahead + read_exactly(f, size - 1)


def plain_blocks(f):
    while True:
        block = f.read(BLOCK)
        if not block:
            return
        yield block


class ChunkReader:
    """A file-like reader over an iterator of byte strings (for the zstandard stream reader)."""

    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.buf = b""

    def read(self, n=-1):
        while n < 0 or len(self.buf) < n:
            try:
                self.buf += next(self.chunks)
            except StopIteration:
                break
        if n < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out


def decompressed(chunks, compression):
    """Yields the decompressed bytes of a stream of (authenticated) chunks."""
    if compression == "none":
        yield from chunks
    elif compression == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        complete = False
        for chunk in chunks:
            data = chunk
            while data:
                if complete:
                    # Another gzip member follows (concatenated members are valid gzip).
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    complete = False
                try:
                    out = d.decompress(data)
                except zlib.error as e:
                    raise DataError("cannot decompress (gzip): %s" % e)
                if out:
                    yield out
                if d.eof:
                    complete = True
                    data = d.unused_data
                else:
                    data = b""
        if not complete:
            raise DataError("cannot decompress (gzip): the stream is incomplete")
    elif compression == "zstd":
        try:
            import zstandard
        except ImportError:
            raise UsageError("this backup is zstd-compressed: pip install zstandard")
        reader = zstandard.ZstdDecompressor().stream_reader(
            ChunkReader(chunks), read_across_frames=True
        )
        while True:
            try:
                out = reader.read(BLOCK)
            except zstandard.ZstdError as e:
                raise DataError("cannot decompress (zstd): %s" % e)
            if not out:
                break
            yield out
    elif compression == "brotli":
        try:
            import brotli
        except ImportError:
            raise UsageError("this backup is brotli-compressed: pip install brotli")
        d = brotli.Decompressor()
        for chunk in chunks:
            try:
                out = d.process(chunk)
            except brotli.error as e:
                raise DataError("cannot decompress (brotli): %s" % e)
            if out:
                yield out
        if not d.is_finished():
            raise DataError("cannot decompress (brotli): the stream is incomplete")
    else:
        raise DataError("unknown compression %s" % compression)


def recover(src, key, compression_hint, out, private=None):
    """Writes the recovered backup of the open binary file `src` to `out`. `key` opens
    version 1 containers, `private` (an X25519 private key) version 2 ones."""
    head = read_exactly(src, HEADER_LEN)
    if head[: len(MAGIC)] == MAGIC:
        if key is None and private is None:
            raise UsageError(
                "the backup is encrypted: give the key with --key-file or --key-hex "
                "(--private-key-file for a write-only profile)"
            )
        header = parse_header(head)
        if header["version"] == 2:
            if private is None:
                raise DataError(
                    "wrong kind of key: the file is encrypted to the public key %s (a write-only "
                    "profile) and only its private key opens it (--private-key-file)"
                    % header["fingerprint"]
                )
            ephemeral = read_exactly(src, PUBLIC_HEADER_LEN - HEADER_LEN)
            if len(ephemeral) < PUBLIC_HEADER_LEN - HEADER_LEN:
                raise DataError("truncated: the file ends inside the header")
            public, key = x25519_content_key(private, ephemeral)
            actual = public_fingerprint(public)
            head = head + ephemeral
        else:
            if key is None:
                raise DataError(
                    "wrong kind of key: the file is encrypted with the symmetric key %s, not to "
                    "a key pair; give it with --key-file" % header["fingerprint"]
                )
            actual = fingerprint(key)
        if header["fingerprint"] != actual:
            raise DataError(
                "wrong key: the file was encrypted with key %s, this key is %s"
                % (header["fingerprint"], actual)
            )
        chunks = decrypted_chunks(src, key, head, header)
        compression = header["compression"]
    else:
        chunks = _prepend(head, plain_blocks(src))
        compression = compression_hint
    for block in decompressed(chunks, compression):
        out.write(block)


def _prepend(first, rest):
    if first:
        yield first
    yield from rest


def hint_from_name(name):
    base = name[: -len(".dbk")] if name.endswith(".dbk") else name
    for suffix, compression in SUFFIXES.items():
        if base.endswith(suffix):
            return compression
    return "none"


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Decrypt and decompress a dbackup backup (FORMAT.md) with only its key."
    )
    p.add_argument("input", help="the backup file (.dbk encrypted, or .gz/.zst/.br/plain)")
    p.add_argument("-o", "--output", help="write here instead of standard output")
    p.add_argument("--key-file", help="file holding the 64 hex characters of the key (key.hex)")
    p.add_argument("--key-hex", help="the key as 64 hex characters (visible in ps; prefer --key-file)")
    p.add_argument(
        "--private-key-file",
        help="write-only profiles: file holding the private key (64 hex, or keygen's JSON)",
    )
    p.add_argument(
        "--private-key-hex",
        help="write-only profiles: the private key as 64 hex (visible in ps; prefer the file)",
    )
    p.add_argument(
        "--compression",
        choices=["none", "gzip", "zstd", "brotli"],
        help="compression of an unencrypted input (default: from its suffix)",
    )
    args = p.parse_args(argv)
    try:
        key = None
        if args.key_file and args.key_hex:
            raise UsageError("give either --key-file or --key-hex, not both")
        if args.key_file:
            with open(args.key_file, "r", encoding="ascii", errors="replace") as kf:
                key = parse_key(kf.read())
        elif args.key_hex:
            key = parse_key(args.key_hex)
        elif os.environ.get("DBACKUP_KEY_HEX"):
            key = parse_key(os.environ["DBACKUP_KEY_HEX"])
        private = None
        if args.private_key_file and args.private_key_hex:
            raise UsageError("give either --private-key-file or --private-key-hex, not both")
        if args.private_key_file:
            with open(args.private_key_file, "r", encoding="ascii", errors="replace") as kf:
                private = parse_private_key(kf.read())
        elif args.private_key_hex:
            private = parse_private_key(args.private_key_hex)
        hint = args.compression or hint_from_name(args.input)
        with open(args.input, "rb") as src:
            if args.output:
                directory = os.path.dirname(os.path.abspath(args.output))
                fd, tmp = tempfile.mkstemp(prefix=".dbackup-recover-", dir=directory)
                try:
                    with os.fdopen(fd, "wb") as out:
                        recover(src, key, hint, out, private)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(tmp, args.output)
                except BaseException:
                    try:
                        os.unlink(tmp)
                    except OSError:
                        pass
                    raise
            else:
                recover(src, key, hint, sys.stdout.buffer, private)
                sys.stdout.buffer.flush()
    except UsageError as e:
        print("dbackup_decrypt: %s" % e, file=sys.stderr)
        return 2
    except DataError as e:
        print("dbackup_decrypt: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("dbackup_decrypt: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
