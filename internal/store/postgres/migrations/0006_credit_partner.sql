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
