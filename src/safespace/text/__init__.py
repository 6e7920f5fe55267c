"""Known-abuse URLs and keywords in what users post: a library, no I/O, never fetches.

* :func:`canonicalize`, :func:`url_expressions`, :func:`expression_hash`: URL
  canonicalisation and the host-suffix/path-prefix expressions of Safe Browsing / Web Risk.
* :func:`extract_urls`: links in a text, however hidden, each with its span.
* :class:`UrlList`: plain and SHA-256 lists of expressions; ``match_text`` gives
  :class:`UrlMatch` results (listed expression, hash, span; never the text).
* :class:`KeywordList`, :class:`KeywordMatcher`: keyword lists matched with Deter's
  normaliser and term matcher, giving :class:`KeywordMatch` results with spans.
"""

from safespace.text._canonical import (
    CanonicalUrl,
    canonicalize,
    expression_hash,
    url_expressions,
)
from safespace.text._extract import SHORTENERS, WRAPPERS, ExtractedUrl, extract_urls
from safespace.text._keywords import KeywordList, KeywordMatch, KeywordMatcher
from safespace.text._tlds import GENERIC_TLDS, is_known_tld
from safespace.text._urllist import UrlList, UrlMatch, listed_expression

__all__ = [
    "GENERIC_TLDS",
    "SHORTENERS",
    "WRAPPERS",
    "CanonicalUrl",
    "ExtractedUrl",
    "KeywordList",
    "KeywordMatch",
    "KeywordMatcher",
    "UrlList",
    "UrlMatch",
    "canonicalize",
    "expression_hash",
    "extract_urls",
    "is_known_tld",
    "listed_expression",
    "url_expressions",
]
