-- The profiles table of PostgresStore (service/postgres.go).
--
-- A row with deleted = true is the tombstone of a deleted profile: its
-- personal fields are empty, which the tombstone_erased constraint enforces,
-- and its version is one more than the deleted profile's, so that a profile
-- created again continues the sequence and no ETag is ever reused.
--
-- Migrations only go forward: there is no Down section, and a release that
-- needs another shape adds a migration.

-- +goose Up
CREATE TABLE profiles (
	id           text        NOT NULL PRIMARY KEY,
	display_name text        NOT NULL,
	email        text        NOT NULL,
	bio          text        NOT NULL,
	version      bigint      NOT NULL CHECK (version >= 1),
	update_time  timestamptz NOT NULL,
	deleted      boolean     NOT NULL DEFAULT false,
	CONSTRAINT tombstone_erased CHECK (NOT deleted OR (display_name = '' AND email = '' AND bio = ''))
);
