"""What the routes call: keyword-only functions that validate, talk to Temporal or the database, and
raise `api.errors` on purpose."""
