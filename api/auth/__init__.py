"""Who is signed in: the identity provider (OpenID Connect), browser sessions, bearer tokens."""
