-- A payment reference is the phone's text, and text may hold what a
-- PostgreSQL text column cannot: a NUL byte. The bbolt store keeps it as a
-- key of bytes; a reference holding one is kept here, as bytes, so that the
-- sale is stored as it is there rather than refusing the phone's push.
-- sale_refs itself keeps its text column: a node of the release before,
-- still running during a rolling upgrade, has its statements on sale_refs
-- prepared with a text parameter, and a change of the column's type would
-- fail every one of them ("operator does not exist: bytea = text").
CREATE TABLE sale_refs_nul (
	ref     bytea PRIMARY KEY,
	sale_id text COLLATE "C" NOT NULL
);
