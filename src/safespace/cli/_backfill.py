"""``safespace backfill``: hash a whole media store into the content-hash store (retro-matching).

Every file below ROOT (a folder or an fsspec URL) is hashed on the chosen engine and its
hashes kept under a content id (its path below ROOT, after ``--id-prefix``), so that a hash
banked later finds it (docs/retro.md). Resumable like ``scan``; running it twice adds nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safespace.cli._common import (
    EngineOption,
    ProgressOption,
    RestartOption,
    SchedulerOption,
    StateOption,
    WorkersOption,
    decode_limits,
    emit,
    engine_name,
    err,
    open_db,
    progress_bar,
    settings_of,
)
from safespace.errors import NotConfigured

if TYPE_CHECKING:
    from safespace.config import Settings

__all__ = ["backfill", "backfill_store"]


def backfill(
    ctx: typer.Context,
    root: Annotated[
        str, typer.Argument(help="Media store: a folder, or an fsspec URL (s3://bucket/media).")
    ],
    id_prefix: Annotated[
        str, typer.Option(help="Put before each file's path below ROOT to make its content id.")
    ] = "",
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    state: StateOption = None,
    restart: RestartOption = False,
    progress: ProgressOption = True,
) -> None:
    """Hash a media store into the content-hash store for retro-matching. Resumable."""
    backfill_store(
        settings_of(ctx),
        root,
        id_prefix=id_prefix,
        engine=engine_name(engine, scheduler),
        scheduler=scheduler,
        workers=workers,
        state=state,
        restart=restart,
        progress=progress,
    )


def backfill_store(
    settings: Settings,
    root: str,
    *,
    id_prefix: str = "",
    engine: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    state: Path | None = None,
    restart: bool = False,
    progress: bool = True,
) -> None:
    from safespace import batch
    from safespace.retro import ContentStore
    from safespace.signals._video_query import WithFrames

    if not getattr(settings, "content_retention", False):
        raise NotConfigured(
            "backfill fills the content-hash store, which is off: set "
            "SAFESPACE_CONTENT_RETENTION=true (docs/retro.md)"
        )
    if not batch.is_url(root):
        root = str(Path(root))
        key = str(Path(root).resolve())
    else:
        key = root
    state_path = state or batch.default_state_path(
        settings.data_dir, key, [id_prefix], kind="backfills"
    )
    if restart and state_path.exists():
        state_path.unlink()
    db = open_db(settings)
    store = ContentStore.from_settings(db, settings)

    paths: dict[str, str] = {}  # content id -> its file, for a video's frames

    class Sink:  # as uploads are kept: a PDQ hash below the matcher's quality is left out
        def remember(self, content_id: str, signals: object) -> int:
            path = paths.pop(content_id, None)
            video = getattr(signals, "media_kind", None) == "video"
            if video and not isinstance(signals, WithFrames) and path and not batch.is_url(path):
                # the worker hashes a video's frames (one a second); only a task from an
                # engine that did not gets them hashed here, in the client (docs/retro.md)
                signals = _with_frames(signals, path)
            return store.remember(content_id, signals, min_quality=settings.min_pdq_quality)

    def content_id(path: str) -> str:
        cid = id_prefix + batch.relative_name(root, path)
        paths[cid] = path
        return cid

    bar = progress_bar("backfilling", enabled=progress)
    task = bar.add_task("backfill", total=None)

    def on_item(item: dict[str, Any], resumed: bool) -> None:
        bar.advance(task)
        if not resumed and item.get("error") is not None:
            emit({k: item[k] for k in ("path", "error", "error_code")})

    run = batch.open_engine(engine, scheduler=scheduler, workers=workers)
    try:
        with bar:
            summary = batch.run_backfill(
                root,
                Sink(),
                content_id,
                engine=run,
                state_path=state_path,
                limits=decode_limits(settings),
                on_item=on_item,
                on_total=lambda n: bar.update(task, total=n),
            )
    except KeyboardInterrupt:
        err.print(f"interrupted: run the same command again to resume ({state_path})")
        raise typer.Exit(130) from None
    finally:
        run.close()
        db.close()
    emit({"summary": summary.to_json()})
    err.print(
        f"{summary.files} files, {summary.stored} stored ({summary.rows_added} new hashes), "
        f"{summary.errors} errors"
        + (f" ({summary.resumed} from an earlier run)" if summary.resumed else ""),
        markup=False,
    )


class _Frames:
    """A video's signals plus its frame hashes under the frames type's name, as the
    ``/v1/match`` upload path hands them to the content store."""

    def __init__(self, signals: object, name: str, frames: list[Any]) -> None:
        self._signals = signals
        setattr(self, name, frames)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._signals, name)


def _with_frames(signals: object, path: str) -> object:
    """``signals`` with the video's frames (one a second, as ``/v1/match`` samples by
    default), when a registered frames type hashes videos."""
    from safespace.signals import IndexKind, MediaKind, hash_video, signal_types_with_index

    kinds = [t for t in signal_types_with_index(IndexKind.FRAMES) if MediaKind.VIDEO in t.media]
    if not kinds:
        return signals
    frames = list(hash_video(path, seconds_per_hash=1.0, threads=1))
    return _Frames(signals, kinds[0].name, frames)
