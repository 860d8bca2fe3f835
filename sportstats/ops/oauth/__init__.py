"""OAuth 2.1 for `auth.mode: oauth`: a small authorization server for the testers, and the
resource server's token check (our tokens, or an external issuer's JWTs)."""
