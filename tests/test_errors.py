import inspect

import pytest

from safespace import errors


def _error_classes() -> list[type[errors.SafeSpaceError]]:
    return [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, errors.SafeSpaceError)
    ]


def test_every_error_is_exported_and_drawn_in_the_tree() -> None:
    doc = errors.__doc__ or ""
    for cls in _error_classes():
        assert cls.__name__ in errors.__all__
        assert cls.__name__ in doc, f"{cls.__name__} missing from the tree in errors.py"


def test_codes_are_unique_and_statuses_are_http_errors() -> None:
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))
    for cls in _error_classes():
        assert 400 <= cls.status <= 599
        assert cls.exit_code != 0


@pytest.mark.parametrize(
    ("cls", "status", "exit_code"),
    [
        (errors.InvalidSignal, 400, 2),
        (errors.MediaTooLarge, 413, 2),
        (errors.BankNotFound, 404, 3),
        (errors.BankExists, 409, 4),
    ],
)
def test_translations(cls: type[errors.SafeSpaceError], status: int, exit_code: int) -> None:
    exc = cls("something went wrong")
    assert (exc.status, exc.exit_code, str(exc)) == (status, exit_code, "something went wrong")


def test_import_error_carries_rejects() -> None:
    exc = errors.ImportFormatError("2 lines rejected", [errors.Reject(3, "x", "bad hash")])
    assert exc.rejects[0].line == 3
