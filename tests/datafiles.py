"""Where the tests' benign images and clips are: ``tests/data`` inside the repository.

Every test reaches the data through these names, so a fresh clone runs on its own (nothing is
read from outside the repository; ``tests/test_repo_hygiene.py`` checks that).
``tests/data/README.md`` says where each file came from.
"""

from __future__ import annotations

from pathlib import Path

TESTDATA = Path(__file__).resolve().parent / "data"
PDQ_DIR = TESTDATA / "pdq"
VIDEO_DIR = TESTDATA / "video"
REFERENCE_CSV = PDQ_DIR / "reference-hashes.csv"
BRIDGE = PDQ_DIR / "bridge-mods" / "aaa-orig.jpg"  # the benign photo most tests bank
PHOTO_12MP = PDQ_DIR / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg"  # 4032x3024 JPEG
PATTERN_SD_VIDEO = VIDEO_DIR / "pattern-sd-grey-bar.mp4"  # 720x480 SD clip with grey bars
VIDEOS = sorted(VIDEO_DIR.glob("*.mp4"))
