"""A test-only app whose one migration alters the tickets table, for the migrate command's
lock-timeout test (tests/msp/test_migration_safety.py); installed only by
tests/msp/migrate_lock_settings.py, never by the project's settings."""
