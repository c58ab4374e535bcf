-- Version 7: the rows a sync found unchanged, listed while it runs. Marking them seen in their
-- own rows rewrote every unchanged row (a mirror row holds its whole JSON): an unchanged re-sync
-- wrote as much as the first. A narrow row here is enough for the sync's end to tell a row not
-- seen (marked removed) from one seen unchanged; the sync's rows are deleted when it finishes.
-- A mirror row's `last_seen_sync` is now the last sync that wrote it.
CREATE TABLE sync_seen (
    sync_id TEXT NOT NULL,
    tbl TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (sync_id, tbl, id)
) WITHOUT ROWID;
