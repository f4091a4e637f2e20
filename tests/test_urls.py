"""``safe_redirect_target``: only paths of this site, whatever the encoding tricks."""

import pytest

from app.urls import safe_redirect_target

DEFAULT = "/admin/"


@pytest.mark.parametrize(
    "target",
    [
        "/admin/household/",
        "/admin/household/?page=2&sort=1",
        "/admin/household/details/?id=5&url=%2Fadmin%2Fhousehold%2F",
        "/admin/household/?search=%E5%BC%A0%E4%B8%89",
        "/admin/household/?search=张三",
        "/",
    ],
)
def test_paths_of_this_site_are_kept(target):
    assert safe_redirect_target(target, DEFAULT) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        123,
        b"/admin/",
        "admin/household/",
        "https://evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "\t//evil.example",
        "/\r\nSet-Cookie: x=1",
        "/admin/\nLocation: //evil.example",
        "/admin/\x00",
        "/admin/\x7f",
        "/\u200b/evil.example",
        "/\u2028/evil.example",
        "/%09/evil.example",
        "/%0d%0a/evil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "/%2F/evil.example",
        "/%2f%2fevil.example",
        " //evil.example",
        "/" + "a" * 2001,
    ],
)
def test_anything_else_goes_to_the_default(target):
    assert safe_redirect_target(target, DEFAULT) == DEFAULT
