import pytest

from imgq.geometry import parse_geometry


@pytest.mark.parametrize(
    "text, size, expected",
    [
        ("800", (4000, 3000), (800, 600)),
        ("x300", (4000, 3000), (400, 300)),
        ("800x800", (4000, 3000), (800, 600)),
        ("800x800", (3000, 4000), (600, 800)),
        ("800x800^", (4000, 3000), (1067, 800)),
        ("800x800!", (4000, 3000), (800, 800)),
        ("800x800>", (4000, 3000), (800, 600)),
        ("800x800>", (640, 480), (640, 480)),
        ("800x800<", (640, 480), (800, 600)),
        ("800x800<", (4000, 3000), (4000, 3000)),
        ("50%", (4000, 3000), (2000, 1500)),
        ("50x25%", (4000, 3000), (2000, 750)),
        ("1x1", (2, 1), (1, 1)),
        ("10", (1000, 1), (10, 1)),
    ],
)
def test_target_size(text, size, expected):
    assert parse_geometry(text).target_size(size) == expected


@pytest.mark.parametrize("text", ["", "x", "abc", "0x10", "10x0", "10x10<>", "10x10>>", "10!", "-5x5", "0%"])
def test_invalid_geometry_rejected(text):
    with pytest.raises(ValueError, match="invalid geometry"):
        parse_geometry(text)


def test_geometry_text_kept():
    assert str(parse_geometry("800x600>")) == "800x600>"
