-- The payout accounts a stall had before an approved change: a bank credit
-- to one of them is still the stall's (FindStallsByAccount). The stall's
-- doc holds them (former_payouts); this table indexes them, and UpdateStall
-- keeps it in step. No stall has one before this release, so it starts
-- empty. A node of the release before, during a rolling upgrade, writes
-- docs without the field, and the next write of such a stall by a node of
-- this release empties its rows: the accounts it had before are forgotten,
-- as that release forgot them.
CREATE TABLE stall_former_accounts (
	bin      text COLLATE "C" NOT NULL,
	account  text COLLATE "C" NOT NULL,
	stall_id text COLLATE "C" NOT NULL,
	PRIMARY KEY (bin, account, stall_id)
);
CREATE INDEX stall_former_accounts_stall ON stall_former_accounts (stall_id);
