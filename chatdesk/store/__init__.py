"""The history database, its migrations, export and import. The only SQLite user."""
