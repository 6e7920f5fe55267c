from pathlib import Path

import pytest

from safespace.config import Settings


def test_defaults_use_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFESPACE_DATABASE_URL", raising=False)
    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'safespace.db'}"
    assert settings.min_pdq_quality == 50


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESPACE_DATABASE_URL", "postgresql+psycopg://u:p@db/safespace")
    monkeypatch.setenv("SAFESPACE_MIN_PDQ_QUALITY", "70")
    settings = Settings()
    assert settings.resolved_database_url() == "postgresql+psycopg://u:p@db/safespace"
    assert settings.min_pdq_quality == 70


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESPACE_MIN_PDQ_QUALITY", "101")
    with pytest.raises(ValueError, match="min_pdq_quality"):
        Settings()
