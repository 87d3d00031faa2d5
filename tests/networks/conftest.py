from tests.dbfixtures import db_url, engine, pg_url, sqlite_engine, sqlite_url  # noqa: F401
