"""The write path, in the order a record travels it.

On the caller's thread: `values` (and `columnar` for a bulk call) make the
values storable and check them, `join_key` names the record, `spool_entry` /
`bulk_entry` give it its line's shape and `spool` appends that line to a
memory-mapped file with one write. On the background thread: `delivery`
reads the spool back, moves staged blobs into the blob store, `record_groups`
puts plain records into bulk groups, and `writer` (with `bulk_insert`) stores
them in the record store's schema, exactly once."""
