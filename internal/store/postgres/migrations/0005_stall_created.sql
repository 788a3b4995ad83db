-- When each stall was registered, beside its doc: a report counts the
-- stalls registered by its range's last day without decoding every doc.
-- A node of the release before, still running during a rolling upgrade,
-- inserts stalls without naming the column; the default, the time of its
-- transaction, is when such a stall was registered.
ALTER TABLE stalls ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
-- The time is read from the doc's text, not through jsonb: a doc is Go's
-- JSON of any name the registry let through, and a NUL in one (\u0000) is
-- refused by jsonb and json alike. Inside a JSON string every quote is
-- escaped, so "created_at":" is only ever the stall's own key (no object
-- within a stall has one). Digits past the microsecond are dropped, not
-- rounded, as pgx drops them when a node writes the column: a stall
-- registered at 23:59:59.9999996 stays on its day.
UPDATE stalls SET created_at = regexp_replace(
	substring(convert_from(doc, 'UTF8') from '"created_at":"([^"]*)"'),
	'([.][0-9]{6})[0-9]+', E'\\1')::timestamptz;
