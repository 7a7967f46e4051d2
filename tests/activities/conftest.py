from tests.db_fixtures import (  # noqa: F401 (fixtures)
    database_url,
    migrated_engine,
    smtp_inbox,
    smtp_server,
    webhook_receiver,
)
