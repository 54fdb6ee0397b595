"""The URL checks themselves, against the addresses attackers use to reach private networks
through a server (or fal) that fetches what it is given."""

from __future__ import annotations

import pytest

from services.assets.url_safety import (
    FAL_OUTPUT_HOSTS,
    IMAGE_HOSTS,
    _public,
    check_fetchable,
    check_public_https_url,
    image_hosts,
)
from services.platform.errors import ValidationFailed


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1\\.fal.media/a.png",
        "https://127.0.0.1\\@v3.fal.media/a.png",
        "https://v3.fal.media\\@127.0.0.1/a.png",
        "https://user@v3.fal.media/a.png",
        "https://:@v3.fal.media/a.png",
        "https://v3.fal.media:8443/a.png",
        "https://v3.fal.media:443@127.0.0.1/a.png",
        "https://127.0.0.1/a.png",
        "https://[::ffff:127.0.0.1]/a.png",
        "https://2130706433/a.png",
        "https://0177.0.0.1/a.png",
        "https://v3.fal.media%2e127.0.0.1.nip.io/a.png",
        "https://fal.media.evil.com/a.png",
        "https://evilfal.media/a.png",
        "https://v3.fal.media /a.png",
        "https://v3.fal.media\t/a.png",
        "http://v3.fal.media/a.png",
        "https://huggingface.co/x.png",
        "https://storage.googleapis.com/x.png",
    ],
)
def test_urls_a_parser_could_read_two_ways_or_off_the_list_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_public_https_url(url, field="image_url")
    assert refused.value.problems[0].reason == "INVALID_URL"


@pytest.mark.parametrize(
    "url",
    [
        "https://v3.fal.media/files/abc/a.png",
        "https://fal.media/files/a.png",
        "https://abcd.supabase.co/storage/v1/object/sign/assets/a.png?token=x",
    ],
)
def test_media_hosts_pass(url: str) -> None:
    hosts = image_hosts("https://abcd.supabase.co")
    assert check_public_https_url(url, field="image_url", hosts=hosts) == url


def test_only_this_projects_supabase_storage_is_a_media_host() -> None:
    other = "https://someone-else.supabase.co/storage/v1/object/sign/assets/a.png?token=x"
    for hosts in (IMAGE_HOSTS, image_hosts("https://abcd.supabase.co"), image_hosts(None)):
        with pytest.raises(ValidationFailed):
            check_public_https_url(other, field="image_url", hosts=hosts)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("151.101.1.1", True),
        ("2606:4700::1111", True),
    ],
)
def test_only_public_addresses_count_as_fetchable(address: str, public: bool) -> None:
    assert _public(address) is public


async def test_what_the_server_fetches_must_be_on_the_list_and_resolve_publicly() -> None:
    for url in ("https://localhost/x.png", "http://127.0.0.1:9/x.png", "https://evil.com/x.png"):
        with pytest.raises(ValidationFailed):
            await check_fetchable(url, field="id", hosts=FAL_OUTPUT_HOSTS)
    # A local stand-in only when configured, exactly by host and port.
    await check_fetchable(
        "http://127.0.0.1:9/x.png",
        field="id",
        hosts=FAL_OUTPUT_HOSTS,
        local_origins=("127.0.0.1:9",),
    )
    for url in ("http://127.0.0.1:10/x.png", "http://127.0.0.1:9\\@evil.com/x.png"):
        with pytest.raises(ValidationFailed):
            await check_fetchable(
                url, field="id", hosts=FAL_OUTPUT_HOSTS, local_origins=("127.0.0.1:9",)
            )
