"""The one URL canonicalizer: every URL is stored and compared in this form."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

# Parameters that identify a click, not a document.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
    "mc_cid", "mc_eid", "_ga", "_gl", "ref", "ref_src", "cmpid", "ocid", "smid",
    "sr_share", "at_medium", "at_campaign", "share", "outputtype",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ito", "__twitter")


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no default port, no tracking
    parameters, remaining parameters sorted.

    courlan does the general normalization (percent-encoding, default ports,
    ordering); the tracking list is ours because outlets use more parameters
    than courlan's strict mode knows, and strict mode drops some that matter.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    cleaned = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(sorted(query)), ""))
    try:
        cleaned = normalize_url(cleaned)
    except Exception:  # courlan rejects some exotic URLs; our own cleaning still holds
        pass
    parts = urlsplit(cleaned)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """The lower-case host name of a URL, without port."""
    return (urlsplit(url).hostname or "").lower()
