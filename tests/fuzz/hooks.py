"""Schemathesis hooks of tests/tests/api_fuzz.rs: the checks the API fuzzing adds to
schemathesis's own `not_a_server_error`, and the guard that keeps the fuzzing's own accounts.

Every error answer of the API is a JSON object with a non-empty `error` string (docs/API.md,
"Errors"); redirects and successes are not looked at here.
"""

import json
import os

import schemathesis


# Ids the fuzzing must not change: its own accounts and API key (a request that demoted the
# SuperAdmin or changed its password would end the runs' sessions and leave the rest at the
# gate's 401). Space-separated, from the test.
PROTECTED = set(os.environ.get("DBACKUP_FUZZ_PROTECTED", "").split())
# An id that exists nowhere, sent instead of a protected one.
ABSENT = "00000000-0000-4000-8000-000000000000"


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Path ids that name a protected account or key (schemathesis reuses ids it saw in
    answers, the SuperAdmin's own among them) are replaced by an id that exists nowhere."""
    for name, value in list((case.path_parameters or {}).items()):
        if str(value) in PROTECTED:
            case.path_parameters[name] = ABSENT


@schemathesis.check
def errors_are_json(ctx, response, case):
    """A 4xx/5xx answer is `application/json` with `{"error": "<message>", ...}`."""
    if response.status_code < 400:
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    if not content_type.split(";")[0].strip().lower() == "application/json":
        raise AssertionError(
            f"{response.status_code} with Content-Type {content_type or '(none)'}, "
            f"not application/json: {response.content[:200]!r}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(
            f"{response.status_code} body is not JSON ({e}): {response.content[:200]!r}"
        )
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        raise AssertionError(
            f"{response.status_code} body has no non-empty \"error\" string: {body!r:.200}"
        )
    return None


@schemathesis.check
class status_tally:
    """Not a check: counts the answers per status code and per operation, and writes them to
    the JSON file named by DBACKUP_FUZZ_STATS after the run, so that the test can show (and
    assert) that the requests reach the handlers rather than only the gate."""

    def __init__(self):
        self.by_status = {}
        self.by_operation = {}

    def after_response(self, ctx, response, case):
        status = str(response.status_code)
        self.by_status[status] = self.by_status.get(status, 0) + 1
        per_op = self.by_operation.setdefault(case.operation.label, {})
        per_op[status] = per_op.get(status, 0) + 1

    def after_run(self, ctx):
        path = os.environ.get("DBACKUP_FUZZ_STATS")
        if path:
            with open(path, "w") as f:
                json.dump({"byStatus": self.by_status, "byOperation": self.by_operation}, f)
