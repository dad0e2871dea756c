"""Verification, in one package: is a found credential live, who is it, what does it reach.

- `spec`: a rule's `verify:` / `revoke:` block → frozen, validated spec; rendering and evaluating answers (L2, pure);
- `plugins`: the verifiers, built in and third-party (L3);
- `phase`: the verification phase, audit log and saved-report recovery (L4).

Deliberately empty: the rule loader imports `spec`, and must not pay for (or depend on) the phase.
"""
