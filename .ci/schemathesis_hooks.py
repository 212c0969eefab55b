"""A schemathesis check for runs without credentials: every operation whose effective
security is neither public (`[]`) nor optional (`{}`) must answer 401 with a
WWW-Authenticate challenge, and a method the document does not give a path must be
refused with 405 and `Allow` (docs/semantics.md §2.5)."""

import schemathesis


@schemathesis.check
def secured_operation_refuses_without_a_key(ctx, response, case):
    operation = case.operation
    if case.method.upper() != operation.method.upper():
        # A method the document does not give this path (schemathesis tries TRACE and
        # the like): refused as undocumented, 405 with the documented methods.
        if response.status_code != 405 or "allow" not in {n.lower() for n in response.headers}:
            raise AssertionError(
                f"{case.method} {operation.path} answered {response.status_code}, not 405 with Allow"
            )
        return True
    raw = operation.definition.raw
    security = raw.get("security", operation.schema.raw_schema.get("security", []))
    if not security or any(requirement == {} for requirement in security):
        return None
    if response.status_code != 401:
        raise AssertionError(
            f"{operation.label} answered {response.status_code} without a key, not 401"
        )
    if "www-authenticate" not in {name.lower() for name in response.headers}:
        raise AssertionError(f"{operation.label} answered 401 without WWW-Authenticate")
    return True
