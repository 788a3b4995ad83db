-- A credit's place among its stall's credits, which phones page by: its
-- seq, until it is matched to a sale late and moves to the end (a new
-- value of the credit sequence), so a phone that pulled it unmatched sees
-- it again, matched.
ALTER TABLE credits ADD COLUMN stall_pos bigint;
UPDATE credits SET stall_pos = seq;
ALTER TABLE credits ALTER COLUMN stall_pos SET NOT NULL;
DROP INDEX credits_stall;
CREATE INDEX credits_stall ON credits (stall_id, stall_pos) WHERE stall_id <> '';
