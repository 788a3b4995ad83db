-- The payout accounts a stall had before an approved change: a bank credit
-- to one of them is still the stall's (FindStallsByAccount). The stall's
-- doc holds them (former_payouts); this table indexes them, and UpdateStall
-- keeps it in step. No stall has one before this release, so it starts
-- empty. A node of the release before, during a rolling upgrade, writes
-- docs without the field: the accounts the stall had before are forgotten,
-- as that release forgets them, and a trigger drops their rows with them
-- (an erasure by such a node must leave no account number behind).
CREATE TABLE stall_former_accounts (
	bin      text COLLATE "C" NOT NULL,
	account  text COLLATE "C" NOT NULL,
	stall_id text COLLATE "C" NOT NULL,
	PRIMARY KEY (bin, account, stall_id)
);
CREATE INDEX stall_former_accounts_stall ON stall_former_accounts (stall_id);
CREATE FUNCTION stall_former_accounts_follow_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF position('"former_payouts"' in encode(NEW.doc, 'escape')) = 0 THEN
		DELETE FROM stall_former_accounts WHERE stall_id = NEW.id;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER stall_former_accounts_follow_doc AFTER UPDATE ON stalls
	FOR EACH ROW EXECUTE FUNCTION stall_former_accounts_follow_doc();
