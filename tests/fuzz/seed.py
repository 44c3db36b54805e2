"""Seed a running patron for one fuzzing pass; print shell assignments (stdlib only).

    python3 seed.py BASE_URL SECRET_KEY TAG

creates a customer `fuzz-TAG@example.com`, one order for them, and a customer JWT
(POST /v1/customers/{id}/issue-token), then prints

    CUSTOMER_ID=cstmr_...
    ORDER_ID=ord_...
    EMAIL=fuzz-TAG@example.com
    JWT=eyJ...

Any answer other than the documented success status is an error (exit 1), so a broken seed never
passes for a fuzzing result.
"""

import json
import sys
import urllib.error
import urllib.request


def call(base: str, key: str, method: str, path: str, body: dict | None, expect: int) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("X-Authorization", key)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if status != expect:
        sys.exit(f"seed: {method} {path} answered {status} (expected {expect}): {raw[:500]!r}")
    return json.loads(raw)


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    base, key, tag = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    email = f"fuzz-{tag}@example.com"
    customer = call(base, key, "POST", "/v1/customers",
                    {"email": email, "firstname": "Fuzz", "lastname": tag}, 201)
    order = call(base, key, "POST", "/v1/orders", {
        "customer_id": customer["id"],
        "currency": "USD",
        "line_items": [{"product_name": "x", "quantity": 1, "price": "1.00"}],
    }, 201)
    token = call(base, key, "POST", f"/v1/customers/{customer['id']}/issue-token", None, 200)
    if token.get("customer_id") != customer["id"] or not token.get("jwt"):
        sys.exit(f"seed: issue-token answered {token!r}")
    print(f"CUSTOMER_ID={customer['id']}")
    print(f"ORDER_ID={order['id']}")
    print(f"EMAIL={email}")
    print(f"JWT={token['jwt']}")


if __name__ == "__main__":
    main()
