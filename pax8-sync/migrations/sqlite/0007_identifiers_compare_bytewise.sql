-- PostgreSQL's identifier columns now compare byte by byte (its migration 0007); SQLite's
-- already do (BINARY, its default collation). Nothing changes here: the version keeps both
-- backends' schemas numbered alike.
SELECT 1;
