"""Where Synapse's answers and our ``api/`` definitions knowingly differ.

Keyed by (operationId, status); each value says what differs and where
the evidence is recorded (the issue-15 note). An exchange whose problems
are not explained here fails its scenario.
"""

KNOWN_DIFFERENCES: dict[tuple[str | None, int], str] = {
    ("queryServerKeysBatch", 400): (
        "K2: Synapse requires minimum_valid_until_ts in every key criterion, "
        "which api/keys_query.yaml (and the Matrix spec) make optional"
    ),
}
