"""`obstore.Bytes` behaves like an immutable `bytes`: construction from buffers, the buffer
protocol without copies, indexing, slicing, comparison, arithmetic, pickling and str-like methods.
"""

from __future__ import annotations

import pickle

import pytest

from obstore import Bytes

BOOL_METHODS = ["isalnum", "isalpha", "isascii", "isdigit", "islower", "isspace", "isupper"]
BOOL_SAMPLES = [
    b"",
    b"abc",
    b"ABC",
    b"aBc",
    b"a1",
    b"123",
    b" \t\n",
    b"\xff",
    b"abc def",
    b"\xe9t\xe9",
]


def test_constructor_default_is_empty() -> None:
    assert Bytes() == b""
    assert len(Bytes()) == 0
    assert not Bytes()


@pytest.mark.parametrize("source", [b"abc", bytearray(b"abc"), memoryview(b"abc"), Bytes(b"abc")])
def test_constructor_accepts_buffers(source: object) -> None:
    value = Bytes(source)  # type: ignore[arg-type]
    assert value == b"abc"
    assert bytes(value) == b"abc"
    assert len(value) == 3


def test_constructor_str_is_type_error() -> None:
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        Bytes("abc")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [5, None, 1.5, ["a"]])
def test_constructor_non_buffer_is_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        Bytes(value)  # type: ignore[arg-type]


def test_buffer_protocol() -> None:
    value = Bytes(b"Hello")
    view = memoryview(value)
    assert view.readonly
    assert view.format == "B"
    assert view.nbytes == 5
    assert view.tobytes() == b"Hello"
    assert bytes(value) == b"Hello"
    assert bytearray(value) == bytearray(b"Hello")
    with pytest.raises(TypeError):
        view[0] = 1  # read-only


def test_zero_copy_view_of_large_buffer() -> None:
    source = bytes(range(256)) * 4096
    value = Bytes(source)
    assert len(value) == len(source)
    assert memoryview(value)[1000:1010].tobytes() == source[1000:1010]


def test_indexing() -> None:
    value = Bytes(b"Hello")
    assert value[0] == 72
    assert value[-1] == ord("o")
    assert value[-5] == ord("H")
    for index in [5, 100, -6]:
        with pytest.raises(IndexError, match="Index out of range"):
            value[index]


@pytest.mark.parametrize(
    "key",
    [
        slice(1, 3),
        slice(None),
        slice(None, None, -1),
        slice(None, None, 2),
        slice(10, 20),
        slice(4, 0, -2),
        slice(-3, None),
    ],
)
def test_slicing_matches_bytes(key: slice) -> None:
    source = b"Hello world"
    result = Bytes(source)[key]
    assert isinstance(result, Bytes)
    assert result == source[key]


def test_contains() -> None:
    value = Bytes(b"Hello")
    assert b"ell" in value
    assert bytearray(b"lo") in value
    assert Bytes(b"He") in value
    assert memoryview(b"o") in value
    assert b"" in value
    assert b"x" not in value
    assert b"Hello!" not in value


def test_equality() -> None:
    value = Bytes(b"Hello")
    assert value == b"Hello"
    assert value == bytearray(b"Hello")
    assert value == memoryview(b"Hello")
    assert value == Bytes(b"Hello")
    assert value != b"Hell"
    assert value != Bytes(b"hello")
    assert value != "Hello"
    assert not (value == "Hello")
    assert value != 5


def test_ordering_not_supported() -> None:
    with pytest.raises(TypeError):
        Bytes(b"a") < b"b"  # type: ignore[operator]  # noqa: B015


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Bytes(b"a"))
    with pytest.raises(TypeError):
        {Bytes(b"a")}  # noqa: B018


def test_add() -> None:
    value = Bytes(b"Hello")
    others: list[bytes | bytearray | memoryview | Bytes] = [
        b"!",
        bytearray(b"!"),
        memoryview(b"!"),
        Bytes(b"!"),
    ]
    for other in others:
        result = value + other
        assert isinstance(result, Bytes)
        assert result == b"Hello!"
    left = b"x" + value
    assert type(left) is bytes
    assert left == b"xHello"
    with pytest.raises(TypeError):
        value + "x"  # type: ignore[operator]


def test_mul() -> None:
    value = Bytes(b"ab")
    assert isinstance(value * 3, Bytes)
    assert value * 3 == b"ababab"
    assert value * 0 == b""
    assert value * 1 == b"ab"


def test_repr() -> None:
    assert repr(Bytes(b"Hello")) == 'Bytes(b"Hello")'
    assert str(Bytes(b"Hello")) == 'Bytes(b"Hello")'
    assert repr(Bytes(b"")) == 'Bytes(b"")'
    assert repr(Bytes(b"it's")) == 'Bytes(b"it\'s")'
    assert repr(Bytes(b"\x00\n\xff")) == 'Bytes(b"\\x00\\n\\xff")'


@pytest.mark.parametrize("source", [b"", b"Hello", bytes(range(256)) * 64])
def test_pickle_round_trip(source: bytes) -> None:
    value = Bytes(source)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(value, protocol=protocol))
        assert type(restored) is Bytes
        assert restored == source


@pytest.mark.parametrize("method", BOOL_METHODS)
def test_bool_methods_match_bytes(method: str) -> None:
    for sample in BOOL_SAMPLES:
        assert getattr(Bytes(sample), method)() is getattr(sample, method)(), sample


@pytest.mark.parametrize("method", ["lower", "upper"])
def test_case_mapping(method: str) -> None:
    for sample in [b"Hello World 123", b"", b"\xc9t\xe9", b"ABC"]:
        result = getattr(Bytes(sample), method)()
        assert isinstance(result, Bytes)
        assert result == getattr(sample, method)()


def test_removeprefix_removesuffix() -> None:
    value = Bytes(b"Hello")
    assert value.removeprefix(b"He") == b"llo"
    assert isinstance(value.removeprefix(b"He"), Bytes)
    assert value.removeprefix(b"x") == b"Hello"
    assert value.removeprefix(b"") == b"Hello"
    assert value.removeprefix(b"Hello") == b""
    assert value.removesuffix(b"lo") == b"Hel"
    assert isinstance(value.removesuffix(b"lo"), Bytes)
    assert value.removesuffix(bytearray(b"x")) == b"Hello"
    assert value.removesuffix(Bytes(b"Hello")) == b""


def test_to_bytes() -> None:
    value = Bytes(b"Hello")
    copied = value.to_bytes()
    assert type(copied) is bytes
    assert copied == b"Hello"
