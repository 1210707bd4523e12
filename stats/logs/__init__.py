"""The log store: syslog lines from every server, with Lustre fields, full-text search by words,
numbers and phrases filtered by host, severity and time, counts, a live tail, and retention by
age and by size with a readout (IML sites filled 200 GB with logs).

Layer: stats (may import core; no Qt, no Twisted). Thread: one owner thread, the database
worker's (a `LogStore` is not shared between threads).

Design, and why. Per-line FTS5 (the anchor) ingests about 52,000 lines/s and takes 2.4 times the
text on disk, because it indexes every token of every line with its position. Lustre logs are a
handful of templates ("Lustre: X-OSTn: Client U (at N) reconnecting") with changing variables,
so this store indexes blocks, not lines:

- Lines arrive in `append` calls and are cut into blocks of 16,384 lines. A block is one SQLite
  row holding its columns (time deltas in µs, host, facility, severity, template id, source)
  in one zstd frame, its messages in zstd frames of 64 lines behind a table of their sizes (so
  that showing a line decompresses 6 kB, not 1.4 MB), and its line index.
- Each line's *template* (the message with every token holding a digit replaced by a
  placeholder, see `stats.logs.text`) gets an id from a dictionary table; `block_templates`
  counts lines per template per block. A query's words are decided by the templates alone, so
  a count of a common phrase ("Recovery over") is a sum over that small table.
- The *variables* of a block (tokens with digits: UUIDs, NIDs, target names, PIDs) are hashed
  (64 bits, ASCII case folded) with numpy over the whole batch. The block's *line index*
  (`blocks.vidx`, not compressed so that a look-up reads only what it needs) maps each distinct
  hash to the lines holding it. The distinct hashes also go into the Bloom filter of the
  block's group of 64 blocks (`stats.logs.blooms`: 16 bits per token, side by side, so that 8
  reads of 8 bytes name the group's blocks that may hold a token), so a rare token finds its
  block without reading the others. A per-block FTS5 row (format 2) did the same but took a
  fifth of the ingest time, more as its segment merges grew with the store. Lines with a non-ASCII
  variable are marked: case folding may change them, so the text decides for them.
- A search walks the candidate blocks newest first (by their latest time) and decides each
  line from its template; where the template leaves a query item open, an item of one variable
  token is decided by the line index, and only phrases holding variables ("10.1.0.9@o2ib") read
  the text, of the lines the index leaves (all of the block's past 256 such lines). It stops
  once no older block can beat what it has. A 64-bit hash collision could add a line to a
  result; with ~16,000 distinct tokens a block that is about 1 in 10^15 per block searched.
- Parsing Lustre fields (`LogLine.lustre`) happens when a line is read, not when it is stored:
  searches for a target or a NID are text searches, and ingest stays fast.
- Lines not yet making a full block (the tail) are kept in memory and in the `pending` table,
  written in the same transaction as the `append` that brought them.
- Reads keep the columns and line indexes of the 32 blocks and the 1,024 text frames used last
  (about 20 MB at most): a block id is never given out twice, so they never go stale.

On disk (one SQLite file in WAL mode, `auto_vacuum=INCREMENTAL`): `meta` (next line number,
next block id), `hosts`, `facilities`, `templates`, `blocks` (first_seq, n, t_min, t_max, cols,
text, vidx), `block_templates`, `block_blooms` (one filter per full group of 64 blocks; the
group being filled has its filter in memory, rebuilt from its blocks' line indexes when the
store opens) and `pending`. `PRAGMA application_id` marks the file as ours and `user_version`
is its format (3). A file of format 1 (no line index) or 2 (FTS5 in place of the filters) is
brought to format 3 once, when opened; a file of a newer format is refused with an error saying
so, untouched.

Durability. Every `append` is one SQLite transaction: when it returns, its lines survive the
process being killed (kill -9); a kill during the call stores all of its lines or none. With
`durable=False` (synchronous=NORMAL, the default) a power cut or OS crash may also lose the
appends since the last WAL checkpoint; `durable=True` (synchronous=FULL) loses none. A full disk
or a malformed record fails the whole call with a `ChromaError` and changes nothing stored.

Retention removes whole blocks: by age once all a block's lines are older than the limit, by
size oldest first until the file fits, then gives the space back to the filesystem.
"""

from stats.logs.records import (
    LogLine,
    LogRecordError,
    LogStoreError,
    LogStoreFullError,
    LogUsage,
    LustreFields,
    MessageClass,
    RetentionPolicy,
    RetentionReport,
    TailPage,
    parse_lustre,
)
from stats.logs.store import LogStore
from stats.logs.text import Query, parse_query

__all__ = [
    "LogLine",
    "LogRecordError",
    "LogStore",
    "LogStoreError",
    "LogStoreFullError",
    "LogUsage",
    "LustreFields",
    "MessageClass",
    "Query",
    "RetentionPolicy",
    "RetentionReport",
    "TailPage",
    "parse_lustre",
    "parse_query",
]
