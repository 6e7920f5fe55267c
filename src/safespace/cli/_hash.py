"""``safespace hash``: signals of files as JSON lines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from safespace.cli._common import decode_limits, emit, err, settings_of
from safespace.errors import SafeSpaceError

__all__ = ["hash_cmd"]


def hash_cmd(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Image or video files.", show_default=False)],
    exact: Annotated[
        bool, typer.Option(help="Decode at full resolution (bit-exact with the reference tool).")
    ] = False,
    dihedral: Annotated[
        bool, typer.Option(help="Also print the PDQ hashes of the 8 rotations and flips.")
    ] = False,
    seconds_per_hash: Annotated[
        float,
        typer.Option(
            min=0.0, help="Videos: hash one frame per this many seconds (0: every frame)."
        ),
    ] = 1.0,
    crop_borders: Annotated[
        bool, typer.Option(help="Videos: remove black bars before hashing frames.")
    ] = False,
) -> None:
    """Hash files: one JSON object per line with path, pdq, pdq_quality, md5, sha256, and for
    a video its vpdq frames (frame, timestamp, quality, pdq)."""
    from safespace.signals import hash_file, hash_video, pdq_dihedral_from_file

    limits = decode_limits(settings_of(ctx))
    failed = 0
    for path in files:
        row: dict[str, Any] = {"path": str(path)}
        try:
            signals = hash_file(path, exact=exact, limits=limits)
            row.update(signals.as_dict())
            if signals.pdq is not None and dihedral:
                row["pdq_dihedral"] = pdq_dihedral_from_file(path, exact=exact, limits=limits)
            if signals.media_kind == "video":
                frames = hash_video(
                    path, seconds_per_hash=seconds_per_hash, crop_borders=crop_borders
                )
                row[_video_frames_name()] = [f.as_dict() for f in frames]
        except SafeSpaceError as exc:
            failed += 1
            row.update(error=str(exc), error_code=exc.code)
        except OSError as exc:
            failed += 1
            row.update(error=f"cannot read file: {exc.strerror or exc}", error_code="io-error")
        emit(row)
    if failed:
        err.print(f"{failed} of {len(files)} files could not be hashed")
        raise typer.Exit(1)


def _video_frames_name() -> str:
    """The registered signal type a video's frame hashes are (vPDQ), from the registry."""
    from safespace.signals import IndexKind, MediaKind, signal_types_with_index

    kinds = signal_types_with_index(IndexKind.FRAMES)
    return next(t.name for t in kinds if MediaKind.VIDEO in t.media)
