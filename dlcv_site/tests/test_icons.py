"""The icons browsers ask for at the site's root (favicon.ico on every page, touch icons on phones)."""

from __future__ import annotations

import struct

import pytest
from django.test import Client


def test_favicon_ico_is_an_icon() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind) == (0, 1) and count >= 2  # an ICO file with several sizes
    assert "max-age" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/apple-touch-icon.png", "/apple-touch-icon-precomposed.png"])
def test_touch_icons_are_180px_pngs(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    body = b"".join(response.streaming_content)
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", body[16:24]) == (180, 180)  # the IHDR chunk's width and height
