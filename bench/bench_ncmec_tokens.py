"""NCMEC XML with one huge attribute: fed to expat in 64 KiB pieces against in one piece.

In pieces (the SAX default, how the parser ran before), expat scans a token that spans
pieces again with each new piece, so the time grows with the square of the token's length;
in one piece (how ``NcmecFormat.parse`` feeds it now) it grows linearly. Prints the time for
each size and the ratio between successive sizes (about 4x for quadratic, 2x for linear).

    python bench/bench_ncmec_tokens.py [--sizes-mib 2 4 8]
"""

from __future__ import annotations

import argparse
import time
from io import BytesIO
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import InputSource

from defusedxml.expatreader import DefusedExpatParser

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _doc(size: int) -> bytes:
    return (
        f'<queryResult><images><image><member id="{"7" * size}">m</member>'
        f"<fingerprints><pdq>{PDQ}</pdq></fingerprints></image></images></queryResult>"
    ).encode()


def _parse_seconds(data: bytes, bufsize: int) -> float:
    parser = DefusedExpatParser(bufsize=bufsize, forbid_dtd=True)
    parser.setContentHandler(ContentHandler())
    source = InputSource()
    source.setByteStream(BytesIO(data))
    start = time.perf_counter()
    parser.parse(source)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes-mib", type=float, nargs="+", default=[2, 4, 8])
    args = ap.parse_args()
    previous: dict[str, float] = {}
    print(f"{'attribute':>10}  {'64 KiB pieces':>14}  {'one piece':>10}")
    for mib in args.sizes_mib:
        data = _doc(int(mib * 1024 * 1024))
        times = {
            "pieces": _parse_seconds(data, 2**16 - 20),
            "whole": _parse_seconds(data, len(data) + 1),
        }
        ratio = {k: f" ({v / previous[k]:.1f}x)" if k in previous else "" for k, v in times.items()}
        print(
            f"{mib:>7.1f} MiB  {times['pieces']:>8.3f} s{ratio['pieces']:<7}"
            f"{times['whole']:>8.3f} s{ratio['whole']}"
        )
        previous = times


if __name__ == "__main__":
    main()
