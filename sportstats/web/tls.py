"""HTTPS served directly, for hosts without a TLS proxy in front."""

from __future__ import annotations

import ssl


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context for the certificate chain and key (PEM files): TLS 1.2 or later."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
