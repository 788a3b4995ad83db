-- Each bank names its own transactions: two banks' credits may carry one
-- bank_txn_id, so a credit is one by its partner and that ID. The column
-- is '' for every credit stored before, and for those a node of the
-- release before inserts during a rolling upgrade (it does not name the
-- column): their partner is in the doc, which FindCredit reads. Such a
-- node still takes any credit with an ID already stored as a conflict,
-- as it did, so the rows of '' stay one an ID.
ALTER TABLE credits ADD COLUMN partner_id text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE credits DROP CONSTRAINT credits_bank_txn_id_key;
CREATE UNIQUE INDEX credits_txn_partner ON credits (bank_txn_id, partner_id);
-- A node of the release before matches a credit late by reading the one
-- credit with its ID and writing it back with UPDATE … WHERE bank_txn_id:
-- where a node of this release stored another bank's credit with that ID,
-- the statement would write the matched credit's doc over the other's
-- too, which would then be lost. A row takes only a doc of its own: the
-- doc's "seq" is the row's. The doc is read as escaped text, so it need
-- not be valid text; inside a JSON string every quote is escaped, so
-- "seq": after { or , is only ever the credit's own key.
CREATE FUNCTION credits_keep_own_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.doc IS DISTINCT FROM OLD.doc
		AND substring(encode(NEW.doc, 'escape') from '[{,]"seq":([0-9]+)[,}]') IS DISTINCT FROM OLD.seq::text THEN
		RETURN NULL; -- another credit's doc: this row stays as it is
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER credits_keep_own_doc BEFORE UPDATE ON credits
	FOR EACH ROW EXECUTE FUNCTION credits_keep_own_doc();
