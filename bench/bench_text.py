"""URL-list and keyword matching in posts, against a plain regex extractor plus set lookup.

Generates placeholder data only: listed URL expressions on example.com/.org/.net hosts made
of random tokens, random-token keywords, and benign posts of 5-40 words with 0-5 links each
(a few to listed pages, some written in hiding styles) and a few planted keywords. Measures,
on one core, the whole text pipeline (``UrlList.match_text`` + ``KeywordMatcher.match``) per
message (p50, p99) and in a loop (messages/s), and the same for a baseline written here:
one regular expression for ``http(s)://`` links, lower-cased ``host/path`` looked up in a set,
and words looked up in a set. Prints rates, ratios and what each found of what was planted,
and compares the two post by post: every listed expression and keyword the baseline finds in
a post, the pipeline must find in that post too (where their semantics overlap: a plain
``http(s)://`` link to a listed page or host, a keyword written as one plain word).

    python bench/bench_text.py              # 1,000,000 URL expressions, 100,000 keywords
    python bench/bench_text.py --quick      # 100,000 and 10,000
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import string
import time

from safespace.text import KeywordList, KeywordMatcher, UrlList

_BENIGN_TEXT = (
    "weather tomorrow london cheap flights to paris recipe chicken curry how to fix a bike "
    "puncture best laptop football scores kids shoes garden furniture sale train times "
    "python tutorial used cars dentist opening hours birthday cake ideas hiking boots review "
    "cinema listings tonight yoga for beginners cat food wedding museum tickets bus route "
    "school holidays vegan pasta bake phone case red winter coat running shoes plumber "
    "hello thanks great see you later what do you think of this? lol ok, sure! 🙂 café"
)
_BENIGN = _BENIGN_TEXT.split(" ")
_TLDS = ("example.com", "example.org", "example.net")


def _token(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(lo, hi)))


def make_expressions(n: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        host = f"{_token(rng, 5, 10)}.{rng.choice(_TLDS)}"
        if rng.random() < 0.1:
            out.add(host + "/")  # a whole host listed
        else:
            out.add(f"{host}/{_token(rng, 3, 8)}/{_token(rng, 4, 10)}.html")
    return sorted(out)


def make_keywords(n: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        word = "kw" + _token(rng, 6, 10)
        if rng.random() < 0.2:
            word += " " + _token(rng, 4, 7)
        out.add(word)
    return sorted(out)


def _hide(url: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return "https://" + url
    if roll < 0.7:
        return url  # no scheme
    if roll < 0.8:
        return "hxxps://" + url.replace(".", "[.]", 1)
    if roll < 0.9:
        return url.replace(".", " dot ", 1)
    return "http://www." + url


def make_posts(
    n: int, listed: list[str], keywords: list[str], rng: random.Random
) -> tuple[list[str], int, int, int]:
    """Posts, and how many links, listed links and keywords were planted."""
    posts = []
    links = planted_urls = planted_words = 0
    for _ in range(n):
        words = rng.choices(_BENIGN, k=rng.randint(5, 40))
        for _ in range(rng.randint(0, 5)):
            links += 1
            if rng.random() < 0.02:
                planted_urls += 1
                url = rng.choice(listed)
                if not url.endswith("/"):
                    url += f"?ref={_token(rng, 2, 5)}"
            else:  # a hyphenated host: never one of the listed ones
                host = f"{_token(rng, 3, 6)}-{_token(rng, 3, 6)}.{rng.choice(_TLDS)}"
                url = f"{host}/{_token(rng, 3, 8)}"
            words.insert(rng.randint(0, len(words)), _hide(url, rng))
        if rng.random() < 0.01:
            planted_words += 1
            words.insert(rng.randint(0, len(words)), rng.choice(keywords))
        posts.append(" ".join(words))
    return posts, links, planted_urls, planted_words


_BASELINE_URL = re.compile(r"https?://([^\s/?#]+)(/[^\s?#]*)?")


class Baseline:
    """A plain regular-expression extractor plus set lookups, as a first attempt would be."""

    def __init__(self, expressions: list[str], keywords: list[str]) -> None:
        self.urls = set(expressions)
        #: each keyword and its place in the list (the pipeline's rule id is ``bench:N``)
        self.words = {w: i for i, w in enumerate(keywords, start=1)}

    def match(self, text: str) -> tuple[list[str], list[int]]:
        """The listed expressions and the keywords (by number) found in ``text``."""
        urls = []
        for m in _BASELINE_URL.finditer(text):
            host = m.group(1).lower()
            path = m.group(2) or "/"
            if host + path in self.urls:
                urls.append(host + path)
            elif host + "/" in self.urls:
                urls.append(host + "/")
        words = self.words
        return urls, [words[w] for w in text.lower().split() if w in words]


def compare_posts(
    posts: list[str], url_list: UrlList, kw_matcher: KeywordMatcher, baseline: Baseline
) -> tuple[int, int, int, int]:
    """Post by post, what the baseline finds that the pipeline does not (it must be nothing).

    Returns, over all posts: the baseline's matches (listed expressions and keywords), the
    pipeline's, how many of the baseline's the pipeline missed, and in how many posts.
    """
    base_found = pipe_found = missed = missed_posts = 0
    for post in posts:
        base_urls, base_words = baseline.match(post)
        pipe_urls = {m.expression for m in url_list.match_text(post)}
        pipe_words = {int(m.rule_id.rpartition(":")[2]) for m in kw_matcher.match(post)}
        base_found += len(base_urls) + len(base_words)
        pipe_found += len(pipe_urls) + len(pipe_words)
        lost = len(set(base_urls) - pipe_urls) + len(set(base_words) - pipe_words)
        missed += lost
        missed_posts += lost > 0
    return base_found, pipe_found, missed, missed_posts


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _time_each(fn, posts: list[str], clock=time.perf_counter_ns) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for post in posts:
        t0 = clock()
        fn(post)
        times.append((clock() - t0) / 1000)
    times.sort()
    return _percentile(times, 0.5), _percentile(times, 0.99)


def _rate(fn, posts: list[str], seconds: float) -> float:  # type: ignore[no-untyped-def]
    done = 0
    start = time.perf_counter()
    while True:
        for post in posts:
            fn(post)
        done += len(posts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--keywords", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="100,000 URLs, 10,000 keywords")
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput loop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.urls, args.keywords, args.posts = 100_000, 10_000, 5_000
    rng = random.Random(args.seed)

    expressions = make_expressions(args.urls, rng)
    keywords = make_keywords(args.keywords, rng)
    posts, links, planted_urls, planted_words = make_posts(args.posts, expressions, keywords, rng)

    t0 = time.perf_counter()
    url_list = UrlList(expressions=expressions)
    url_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    kw_matcher = KeywordMatcher([KeywordList.from_terms("bench", keywords)])
    kw_s = time.perf_counter() - t0
    baseline = Baseline(expressions, keywords)

    def pipeline(text: str) -> tuple[int, int]:
        return len(url_list.match_text(text)), len(kw_matcher.match(text))

    found_words = base_urls = base_words = 0
    for post in posts:
        found_words += len(kw_matcher.match(post))
        bu, bw = baseline.match(post)
        base_urls += len(bu)
        base_words += len(bw)
    base_found, pipe_found, missed, missed_posts = compare_posts(
        posts, url_list, kw_matcher, baseline
    )
    found_links = sum(_listed_links(url_list, post) for post in posts)

    gc.collect()
    gc.disable()
    try:
        p50, p99 = _time_each(pipeline, posts)
        b50, b99 = _time_each(baseline.match, posts)
        c50, c99 = _time_each(pipeline, posts, time.thread_time_ns)
        d50, d99 = _time_each(baseline.match, posts, time.thread_time_ns)
        u50, u99 = _time_each(url_list.match_text, posts, time.thread_time_ns)
        k50, k99 = _time_each(kw_matcher.match, posts, time.thread_time_ns)
        rate = _rate(pipeline, posts, args.seconds)
        brate = _rate(baseline.match, posts, args.seconds)
    finally:
        gc.enable()

    print(f"listed: {len(url_list):,} URL expressions; keywords: {kw_matcher.size:,}")
    print(f"machine reference: 1,000,000 Python additions in {_reference_ms():.0f} ms "
          f"(an idle modern core: about 30-50 ms)")  # fmt: skip
    load1, load5, _ = os.getloadavg()
    print(f"machine load: load average {load1:.2f} (1 min), {load5:.2f} (5 min) "
          f"on {os.cpu_count()} cores")  # fmt: skip
    print(f"posts: {len(posts):,} with {links:,} links ({planted_urls:,} to listed pages), "
          f"{planted_words:,} planted keywords")  # fmt: skip
    print(f"build: url list {url_s:.2f} s; keyword automaton {kw_s:.2f} s")
    print(f"{'':24}{'p50 us':>10}{'p99 us':>10}{'messages/s':>14}")
    print(f"{'text pipeline':24}{p50:10.1f}{p99:10.1f}{rate:14,.0f}")
    print(f"{'regex + set (baseline)':24}{b50:10.1f}{b99:10.1f}{brate:14,.0f}")
    print(f"cpu time per message (thread clock, unaffected by other processes): "
          f"pipeline p50 {c50:.1f} us, p99 {c99:.1f} us; baseline p50 {d50:.1f} us, "
          f"p99 {d99:.1f} us")  # fmt: skip
    print(f"cpu time per message by part: links p50 {u50:.1f} us, p99 {u99:.1f} us; "
          f"keywords (Deter's normaliser, automaton) p50 {k50:.1f} us, "
          f"p99 {k99:.1f} us")  # fmt: skip
    print(f"pipeline vs baseline: {rate / brate:.2f}x messages/s, {b99 / p99:.2f}x at p99")
    print(f"pipeline vs baseline, cpu time per message: {d50 / c50:.2f}x at p50, "
          f"{d99 / c99:.2f}x at p99")  # fmt: skip
    print(f"listed links found: pipeline {found_links:,} of {planted_urls:,}, "
          f"baseline {base_urls:,} of {planted_urls:,}")  # fmt: skip
    print(f"keywords found: pipeline {found_words:,} of {planted_words:,}, "
          f"baseline {base_words:,} of {planted_words:,}")  # fmt: skip
    print(f"post by post: baseline found {base_found:,} matches, pipeline {pipe_found:,}; "
          f"pipeline missed {missed:,} of the baseline's, in {missed_posts:,} posts")  # fmt: skip
    print(f"targets: messages/s >= 20,000: {'yes' if rate >= 20_000 else 'NO'}; "
          f"p99 < 1000 us: {'yes' if p99 < 1000 else 'NO'}")  # fmt: skip


def _reference_ms() -> float:
    """How fast this interpreter runs on this machine now, to read the figures against."""
    start = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    return (time.perf_counter() - start) * 1000


def _listed_links(url_list: UrlList, post: str) -> int:
    """Listed links in a post, counted once per link (a link can match several expressions)."""
    return len({(m.start, m.end) for m in url_list.match_text(post)})


if __name__ == "__main__":
    main()
