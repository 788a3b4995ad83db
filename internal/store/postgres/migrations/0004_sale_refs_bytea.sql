-- A payment reference is the phone's text, and text may hold what a
-- PostgreSQL text column cannot: a NUL byte. The bbolt store keeps it as a
-- key of bytes; so does this column now, so a sale whose reference holds
-- one is stored as it is there, rather than refusing the phone's push.
ALTER TABLE sale_refs ALTER COLUMN ref TYPE bytea USING convert_to(ref, 'UTF8');
