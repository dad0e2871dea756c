"""A full-history sweep: every blob reachable from the refs, scanned once, findings attributed afterwards.

    index    git log --raw (no patches) → reachable blobs, each with the commits and paths that introduced it
    sizes    cat-file --batch-check over the object database → pack order and size of every blob
    plan     drop excluded paths, oversized and already-done (resume) blobs; cut the rest, in pack order, into
             batches of a few MB
    scan     N worker processes (forked before the index is built, so they stay small), each with its own
             BlobReader (the pack files read in-process, `git cat-file --batch` for the rest) and its own
             Engine; a bounded number of batches in flight; every finished batch is appended to the resume log
             (blob ids and outcomes, never a secret)
    attribute  per (rule, secret, path): the earliest commit that introduced a blob holding it; author, email
             and date looked up for those commits only; "head" locations where the secret is still in HEAD's tree

A whole-history sweep with workers runs index and scan side by side instead (`sweep._speculate`): the workers
scan every listed blob, all rules on, while the walk runs on a thread; `sweep._settle` then keeps the reachable
blobs and rescans the few whose path turns off a rule that matched in them.

Findings then go through the shared Collector and `scan.finish`, so baselines and allow lists apply.

`sweep` runs it all (`run_history`, its options and result); `attribute` places the findings at commits and at
HEAD and writes the notices; `resume` keeps the log an interrupted sweep goes on from. The object database is read
by a source like any other, `nhiguard.sources.gitobjects`.
"""
