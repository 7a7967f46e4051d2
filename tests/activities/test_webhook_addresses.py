"""Webhooks reach nothing inside the network (SSRF): an address is checked when a partner is saved and again
right before each call, which connects to the address checked. A real HTTP receiver on this machine stands for
what lives inside; a name that resolves to it stands for DNS rebinding."""

from __future__ import annotations

import pytest

from activities.delivery import PermanentDeliveryError, TransientDeliveryError, WebhookSender
from core import net
from tests.support.fixtures import WebhookReceiver


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://partner.example.org/hooks", "https"),
        ("https://127.0.0.1:9/hooks", "loopback"),
        ("https://[::1]/hooks", "loopback"),
        ("https://10.0.0.5/hooks", "private"),
        ("https://192.168.1.20/hooks", "private"),
        ("https://172.16.3.4/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hooks", "link-local"),
        ("https://0.0.0.0/hooks", "reserved"),
        ("https://localhost:8000/hooks", "loopback"),
        ("https://user:secret@partner.example.org/hooks", "password"),
        ("https:///hooks", "no host"),
    ],
)
def test_an_address_inside_the_network_or_without_https_is_refused(url: str, why: str) -> None:
    with pytest.raises(net.AddressRefused, match=why if why != "reserved" else "private or reserved"):
        net.check_saved(url)


def test_a_public_address_is_accepted_and_loopback_only_where_allowed() -> None:
    net.check_saved("https://93.184.215.14/hooks")  # a public address literal
    net.check_saved("https://partner.invalid/hooks")  # does not resolve from here: checked again at each call
    assert net.resolve("http://127.0.0.1:8080/hooks", loopback=True).ip_url == "http://127.0.0.1:8080/hooks"
    with pytest.raises(net.AddressRefused, match="https"):
        net.check_saved("http://10.1.2.3/hooks", loopback=True)  # loopback is the only exception


async def test_a_name_that_resolves_inside_reaches_nothing_there(webhook_receiver: WebhookReceiver) -> None:
    """A name (`localhost`) that resolves to 127.0.0.1, where the receiver listens: refused before the call."""
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    sender = WebhookSender(5.0)
    with pytest.raises(PermanentDeliveryError, match="loopback"):
        await sender.post(f"https://localhost:{port}/hooks/pathways", "s" * 32, {"a": 1}, "delivery-1")
    with pytest.raises(PermanentDeliveryError, match="https"):
        await sender.post(webhook_receiver.url, "s" * 32, {"a": 1}, "delivery-2")
    assert webhook_receiver.requests == []
    # Allowed on one machine for development and tests, the same call arrives, signed, with its own Host.
    await WebhookSender(5.0, loopback=True).post(webhook_receiver.url, "s" * 32, {"a": 1}, "delivery-3")
    [arrived] = webhook_receiver.requests
    assert arrived.headers["x-pathways-delivery"] == "delivery-3"


def test_a_port_out_of_range_or_an_ipv4_inside_ipv6_is_refused_with_the_reason() -> None:
    with pytest.raises(net.AddressRefused, match="port"):
        net.check_saved("https://partner.example.org:99999/hooks")
    for carried in ("https://[64:ff9b::a00:5]/hooks", "https://[2002:a00:5::1]/hooks", "https://[::ffff:10.0.0.5]/"):
        with pytest.raises(net.AddressRefused, match="private"):
            net.check_saved(carried)


async def test_a_name_that_does_not_resolve_now_is_tried_again_later_not_dropped() -> None:
    """A DNS hiccup at delivery made the outbox mark a referral failed for good."""
    with pytest.raises(TransientDeliveryError, match="did not resolve"):
        await WebhookSender(5.0).post("https://partner.invalid/hooks", "s" * 32, {"a": 1}, "delivery-9")
