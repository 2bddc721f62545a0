"""The row status codes every kernel writes (CPU and GPU), and what each means to a user.

The drivers write one code per row; ``sparsetools._contract`` raises the exception of the
first bad row with its message, filled in.
"""

# Row status codes written by the drivers; _contract turns them into exceptions.
# Codes 1 to 3 are about the scores (or p); the rest about the second array or the target.
OK = 0
HAS_NAN = 1
HAS_POSINF = 2
ALL_NEGINF = 3
OTHER_NAN = 4  # the second array (v, g, or a target distribution) contains NaN
OTHER_INF = 5  # ... contains an infinity (v, g: of either sign; a target: +inf)
BAD_LABEL = 6  # an integer label outside [0, n)
TARGET_NEG = 7  # a target distribution with a negative entry (-inf included)
TARGET_SUM = 8  # a target distribution that does not sum to 1
P_NEG = 9  # p (a sparsemax or entmax output) has a negative entry or -inf
P_EMPTY = 10  # p has no positive entry, so it has no support
CAPPED_INFEASIBLE = 11  # a capped simplex's budget is more than its cap times the unmasked entries

#: What each status code means to a user: ``code -> (exception, message)``. The messages
#: are ``str.format`` templates over the fields ``_contract.Rows.raise_for_status`` fills
#: in: ``name`` (the array the code is about), ``other`` (the second array), ``where`` (the
#: first bad row and the count), ``posinf_hint``, ``neginf`` ("-inf", or "-inf or masked"),
#: and for the target codes ``label``, ``n``, ``total``, ``tol`` and ``axis``.
STATUS_MESSAGES = {
    HAS_NAN: (ValueError, "{name} contains NaN in {where}"),
    HAS_POSINF: (ValueError, "{name} contains +inf in {where}; {posinf_hint}"),
    ALL_NEGINF: (ValueError, "{name} has no finite entry in {where}: every entry is {neginf}, so the row has "
                             "no probability to give"),
    OTHER_NAN: (ValueError, "{other} contains NaN in {where}"),
    OTHER_INF: (ValueError, "{other} contains inf in {where}"),
    BAD_LABEL: (ValueError, "target has label {label} in {where}, outside [0, {n}) (labels index the {n} "
                            "entries of a row)"),
    TARGET_NEG: (ValueError, "target has a negative entry in {where}; a target distribution must be >= 0"),
    TARGET_SUM: (ValueError, "target sums to {total!r} in {where}, not 1 (tolerance {tol:.3g}); a target "
                             "distribution must sum to 1 along axis {axis}: normalise it, e.g. "
                             "q = y / y.sum(axis={axis}, keepdims=True)"),
    P_NEG: (ValueError, "{name} has a negative entry in {where}; it must be a sparsemax or entmax "
                        "output (>= 0)"),
    P_EMPTY: (ValueError, "{name} has no positive entry in {where}; a sparsemax or entmax output "
                          "has at least one"),
    CAPPED_INFEASIBLE: (ValueError, "budget is more than upper times the entries that are not masked (-inf) "
                                    "in {where}: that capped simplex is empty"),
}
