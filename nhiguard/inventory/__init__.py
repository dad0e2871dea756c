"""The NHI inventory: a SQLite record of every secret seen across repositories and runs (store), and the
governance read from it: owners (codeowners), expiry facts (expiry, x509), policy, risk and OWASP NHI (govern),
and the reports (report). `record` (L4) turns a run's findings into the records the store keeps, and resolves
owners again for the governance commands."""
