"""One Alembic history for all of Chestnut's tables."""
