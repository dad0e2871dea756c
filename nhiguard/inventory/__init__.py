"""The NHI inventory: a SQLite record of every secret seen across repositories and runs (store), and the
governance read from it: owners (codeowners), expiry facts (expiry, x509), policy, risk and OWASP NHI (govern),
and the reports (report)."""
