"""Remediation, in one package: tickets and revocations for the findings of a saved report.

- `plugins`: the ticket backends and revokers, built in and third-party (L3);
- `phase`: the remediation policy, the plan and its audited application (L4).

Deliberately empty, like `nhiguard.verify`: importing a plugin does not load the phase.
"""
