"""The library database: ORM models, engines and migrations."""
