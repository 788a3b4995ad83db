-- A credit's place among its stall's credits, which phones page by: its
-- seq, until it is matched to a sale late and moves to the end (a new
-- value of the credit sequence), so a phone that pulled it unmatched sees
-- it again, matched.
ALTER TABLE credits ADD COLUMN stall_pos bigint;
UPDATE credits SET stall_pos = seq;
-- A node of the release before, still running during a rolling upgrade,
-- inserts credits without stall_pos: they take their seq.
CREATE FUNCTION credits_stall_pos_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.stall_pos := COALESCE(NEW.stall_pos, NEW.seq);
	RETURN NEW;
END
$$;
CREATE TRIGGER credits_stall_pos_default BEFORE INSERT ON credits
	FOR EACH ROW EXECUTE FUNCTION credits_stall_pos_default();
ALTER TABLE credits ALTER COLUMN stall_pos SET NOT NULL;
DROP INDEX credits_stall;
CREATE INDEX credits_stall ON credits (stall_id, stall_pos) WHERE stall_id <> '';
