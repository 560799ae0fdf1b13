"""Alembic migrations of the database schema (``darkroom db upgrade``; ``Database.create_schema``).

Revision ids are the schema's version numbers (``0003``, ``0004``...), continuing
the numbering the ``schema_version`` table kept before Alembic, so
``/api/system``'s ``schema_version`` keeps counting up. Run at run time from
``darkroom.db`` with a programmatic configuration: no ``alembic.ini`` is needed.
For a new revision during development:
``alembic -c darkroom/migrations/alembic.ini revision -m "what changes"``.
"""
