"""Page bytes → text: compression for the archive, charset choice (BOM,
declared, <meta>, UTF-8, detection), and the sniff for payloads that are not
HTML at all."""
from __future__ import annotations

import codecs
import functools
import logging
import re
import zlib

log = logging.getLogger("crawler.extract")

# File signatures of things servers send with a text/html label now and then.
MAGIC = (
    (b"%PDF", "application/pdf"), (b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"), (b"PK\x03\x04", "application/zip"), (b"\x1f\x8b", "application/gzip"),
    (b"RIFF", "audio/video (RIFF)"), (b"ID3", "audio/mpeg"), (b"\x00\x00\x00", "binary data"),
)
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_HTML_LANG = re.compile(rb"""<html[^>]*\slang\s*=\s*["']?([A-Za-z]{2})""", re.I)
# Languages written in windows-1252 when not in UTF-8.
WESTERN_LANGS = frozenset({"en", "es", "fr", "de", "it", "pt", "nl", "ca", "gl", "eu", "da", "sv", "no", "nb",
                           "fi", "is", "ga", "af", "id", "ms", "sw"})
WESTERN_LANGUAGE_NAMES = frozenset({"English", "Spanish", "French", "German", "Italian", "Portuguese", "Dutch",
                                    "Danish", "Swedish", "Norwegian", "Finnish", "Catalan", "Indonesian"})


def compress_html(body: bytes) -> bytes:
    """zlib-compress a page for ``article_versions.raw_html`` (news HTML shrinks ~5x)."""
    return zlib.compress(body, 6)


def decompress_html(blob: bytes) -> bytes:
    """The page bytes as received, from ``compress_html`` output."""
    return zlib.decompress(blob)


def _codec(name: str | None) -> str | None:
    """Python's codec name for a declared charset, or None if unknown.
    Latin-1 and ASCII labels mean windows-1252, as browsers read them."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


@functools.lru_cache(maxsize=64)
def _single_byte(codec: str) -> bool:
    """Whether ``codec`` maps each byte to one character (Latin-1/-5/-15,
    windows-125x, KOI8, ...). Text in such a charset almost never forms valid
    multi-byte UTF-8 sequences, so a page declared so whose bytes are valid
    UTF-8 with non-ASCII characters is UTF-8 mislabelled ("EspaУБa" otherwise)."""
    if codec.startswith(("utf", "utf_")):
        return False
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except (LookupError, UnicodeError, TypeError):
        return False


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not body.isascii()


def decode_html(body: bytes, declared_encoding: str | None) -> str:
    """Decode a page: BOM, then the declared charset (HTTP header), then the
    page's own <meta charset>, then UTF-8, then detection.

    A declared charset is only believed if the bytes decode cleanly with it,
    because wrong declarations are common (Latin-1 pages served as UTF-8, and
    UTF-8 pages labelled Latin-1, which would decode to mojibake without error).
    """
    for bom, codec in BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    meta = _META_CHARSET.search(body[:4096])
    candidates = [_codec(declared_encoding), _codec(meta.group(1).decode("ascii", "ignore") if meta else None), "utf-8"]
    for codec in dict.fromkeys(c for c in candidates if c):
        if _single_byte(codec) and _is_utf8_with_non_ascii(body):
            log.info("page declared %s but is UTF-8; decoding as UTF-8", codec)
            return body.decode("utf-8")
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if declared_encoding and codec != _codec(declared_encoding):
            log.info("page declared %s but does not decode with it; used %s", declared_encoding, codec)
        return text
    # Detection: statistical guessers confuse the Latin code pages (cp1250 turns
    # "España" into "Espańa"), so text in a Western European language, by the
    # page's lang attribute or the guesser's own language verdict, is read as
    # windows-1252, the charset such mislabelled pages really use.
    from charset_normalizer import from_bytes

    lang = _HTML_LANG.search(body[:4096])
    encoding = "cp1252"
    if not (lang and lang.group(1).decode("ascii").lower() in WESTERN_LANGS):
        best = from_bytes(body).best()
        if best is not None and best.language not in WESTERN_LANGUAGE_NAMES:
            encoding = best.encoding
    log.info("page declared %s but does not decode with it; read as %s", declared_encoding, encoding)
    return body.decode(encoding, errors="replace")


def sniff_not_html(body: bytes | str, content_type: str | None) -> str | None:
    """The media type when the payload is plainly not an HTML page, else None."""
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media and media not in ("text/html", "application/xhtml+xml", "text/plain", "application/octet-stream"):
            return media
    head = body[:1024]
    if isinstance(head, bytes):
        for magic, media in MAGIC:
            if head.startswith(magic):
                return media
        head = head.decode("latin-1")
    head = head.lstrip("\ufeff \t\r\n").lower()
    if head.startswith(("{", "[")):
        return "application/json"
    if head.startswith("<?xml") and any(tag in head for tag in ("<rss", "<feed", "<urlset", "<sitemapindex")):
        return "application/xml (feed or sitemap)"
    if "<" not in head:
        return "text/plain"
    return None
