-- When each stall was registered, beside its doc: a report counts the
-- stalls registered by its range's last day without decoding every doc.
-- A node of the release before, still running during a rolling upgrade,
-- inserts stalls without naming the column; the default, the time of its
-- transaction, is when such a stall was registered.
ALTER TABLE stalls ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
UPDATE stalls SET created_at = (convert_from(doc, 'UTF8')::jsonb ->> 'created_at')::timestamptz;
