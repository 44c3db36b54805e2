"""Prove that a client generated from openapi/openapi.json by openapi-python-client works
against a real patron: every call below goes through the generated functions and models
(no hand-written HTTP), and every answer is asserted on the parsed model objects.

run.sh generates the package `patron_client` into a temporary directory, puts it on
PYTHONPATH and runs this script. PATRON_BIN names the patron binary. patron is started here on
a fresh SQLite file, without SMTP (so the login mail is printed on patron's stdout, which is
where the magic-link step reads it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import httpx
from patron_client import AuthenticatedClient, Client
from patron_client.api.customers import create_customer as customers_create
from patron_client.api.customers import get_customer as customers_get
from patron_client.api.customers import list_customers as customers_list
from patron_client.api.customers import update_customer as customers_update
from patron_client.api.health import readyz
from patron_client.api.login import email_token, exchange_token, issue_token, logout
from patron_client.api.orders import create_order as orders_create
from patron_client.api.orders import get_customer_order as get_for_customer
from patron_client.api.orders import list_customer_orders as list_for_customer
from patron_client.models import (
    CustomerCreate,
    CustomerCreateMetaType0,
    CustomerUpdate,
    CustomerView,
    EmailTokenRequest,
    ErrorBody,
    ExchangeTokenRequest,
    HealthStatus,
    LineItemInput,
    LineItemView,
    LoginResponse,
    OrderCreate,
    OrderCreateShippingType0,
    OrderCreateStatusPaymentType0,
    ListCustomerOrdersSortBy,
    ListCustomerOrdersSortDirection,
    OrderView,
    CustomerList,
    OrderList,
    Price,
    Success,
)
from patron_client.types import UNSET

TOKEN_RE = re.compile(r"ctk_[A-Za-z0-9_-]{43}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Patron:
    """patron on a free port with a fresh SQLite database; stdout+stderr go to a log file."""

    def __init__(self, workdir: Path):
        binary = os.environ.get("PATRON_BIN")
        if not binary or not Path(binary).is_file():
            raise SystemExit(f"PATRON_BIN must name the patron binary (got {binary!r})")
        self.public_key = "pk_test_" + secrets.token_hex(16)
        self.secret_key = "sk_test_" + secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")}
        for attempt in range(1, 4):
            port = free_port()
            self.log_path = workdir / f"patron-{attempt}.log"
            env.update(
                PATRON_BIND=f"127.0.0.1:{port}",
                PATRON_DATABASE_URL=f"sqlite://{workdir / 'p.db'}",
                PATRON_PUBLIC_KEY=self.public_key,
                PATRON_SECRET_KEY=self.secret_key,
                PATRON_MAIL_POLL_MS="100",
                PATRON_RATE_LIMIT_EMAIL_PER_MINUTE="100",
                PATRON_WORKERS="2",
            )
            # cwd: a private directory, so no stray .env is read
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [binary, "serve"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            self.url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            out = self.log()
            if self.proc.poll() is None:
                self.stop()
                raise SystemExit(f"patron was not ready within 60 s:\n{out}")
            if "in use" not in out and "os error 98" not in out:
                raise SystemExit(f"patron exited with {self.proc.returncode} before it was ready:\n{out}")
        raise SystemExit("patron could not bind a free port three times")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- checks --------------------------------------------------------------------------

results: list[tuple[str, bool]] = []


def check(name):
    def run(fn):
        t0 = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001 - report every failure, then go on
            results.append((name, False))
            print(f"not ok - {name}")
            traceback.print_exc(file=sys.stdout)
        else:
            results.append((name, True))
            print(f"ok - {name} ({(time.monotonic() - t0) * 1000:.0f} ms)")
        return fn

    return run


def documented_list_items(path: str) -> str:
    """Where the spec says the items of a list answer come from (for failure messages)."""
    spec_path = os.environ.get("PATRON_OPENAPI")
    if not spec_path:
        return ""
    spec = json.loads(Path(spec_path).read_text())
    ref = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[-1]
    items = spec["components"]["schemas"][name]["properties"]["data"]["items"]
    return (
        f"openapi.json paths.{path}.get.responses.200 -> {ref}, whose properties.data.items is "
        f"{json.dumps(items)}"
    )


def price(raw: float, s: str) -> dict:
    return {
        "raw": raw,
        "formatted": s,
        "formatted_with_symbol": f"${s}",
        "formatted_with_code": f"{s} USD",
    }


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="patron-client-"))
    # a SIGTERM (CI timeout) unwinds through the finally below, so patron is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    patron = Patron(workdir)
    try:
        status = run_checks(patron)
    finally:
        patron.stop()
    if status == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return status


def run_checks(patron: Patron) -> int:
    print(f"patron at {patron.url} (log {patron.log_path})")
    # merchant clients: the API key goes in X-Authorization, without a prefix
    back_office = AuthenticatedClient(
        base_url=patron.url,
        token=patron.secret_key,
        prefix="",
        auth_header_name="X-Authorization",
        raise_on_unexpected_status=True,
    )
    storefront = AuthenticatedClient(
        base_url=patron.url,
        token=patron.public_key,
        prefix="",
        auth_header_name="X-Authorization",
        raise_on_unexpected_status=True,
    )
    anonymous = Client(base_url=patron.url, raise_on_unexpected_status=True)
    email = f"leslie.{secrets.token_hex(4)}@example.com"
    state: dict = {}

    @check("readyz through the generated health client")
    def _():
        r = readyz.sync_detailed(client=anonymous)
        assert r.status_code == 200, r
        assert isinstance(r.parsed, HealthStatus), r.parsed
        assert r.parsed.status in ("ok", "ready"), r.parsed

    @check("create a customer (secret key) -> 201 CustomerView")
    def _():
        body = CustomerCreate(
            email=email,
            firstname="Leslie",
            lastname="Lawless",
            phone="+15555555555",
            meta=CustomerCreateMetaType0.from_dict({"tier": "gold"}),
        )
        r = customers_create.sync_detailed(client=back_office, body=body)
        assert r.status_code == 201, (r.status_code, r.content)
        c = r.parsed
        assert isinstance(c, CustomerView), c
        assert re.fullmatch(r"cstmr_[A-Za-z0-9]{14}", c.id), c.id
        assert c.email == email
        assert (c.firstname, c.lastname, c.phone, c.external_id) == ("Leslie", "Lawless", "+15555555555", None)
        assert c.meta.to_dict() == {"tier": "gold"}, c.meta
        assert c.created > 1_600_000_000 and c.updated >= c.created
        state["customer"] = c

    @check("a duplicate email -> 422 ErrorBody with errors.email")
    def _():
        r = customers_create.sync_detailed(client=back_office, body=CustomerCreate(email=email.upper()))
        assert r.status_code == 422, (r.status_code, r.content)
        e = r.parsed
        assert isinstance(e, ErrorBody), e
        assert e.status_code == 422
        assert e.error.type_ == "unprocessable_entity"
        assert e.error.message == "The given data was invalid."
        assert e.error.request_id.startswith("req_")
        assert e.error.errors.to_dict() == {"email": ["The email has already been taken."]}, e.error.errors

    @check("record two orders (secret key) -> 201 OrderView with exact Price objects")
    def _():
        cid = state["customer"].id
        now = int(time.time())
        ship = OrderCreateShippingType0.from_dict(
            {
                "name": "Leslie Lawless",
                "street": "1 Main St",
                "town_city": "Springfield",
                "postal_zip_code": "12345",
                "country": "US",
            }
        )
        orders = []
        for created, qty, ref in ((now - 7200, 1, "GEN-1"), (now - 3600, 2, "GEN-2")):
            body = OrderCreate(
                customer_id=cid,
                customer_reference=ref,
                created=created,
                currency="USD",
                line_items=[
                    LineItemInput(
                        product_id="prod_mug",
                        product_name="Mug",
                        product_sku="MUG-1",
                        quantity=qty,
                        price="12.50",
                    )
                ],
                shipping_price="5.00",
                tax="0.00",
                # The document lists the statuses: the generated client takes its enum.
                status_payment=OrderCreateStatusPaymentType0.PAID,
                shipping=ship,
            )
            r = orders_create.sync_detailed(client=back_office, body=body)
            assert r.status_code == 201, (r.status_code, r.content)
            o = r.parsed
            assert isinstance(o, OrderView), o
            assert re.fullmatch(r"ord_[A-Za-z0-9]{14}", o.id), o.id
            assert o.customer_reference == ref
            assert o.created == created
            assert o.status_payment == "paid"
            assert (o.currency.code, o.currency.symbol) == ("USD", "$")
            orders.append(o)
        two = orders[1]
        assert isinstance(two.order_value, Price)
        assert two.order_value.to_dict() == price(30, "30.00"), two.order_value
        assert two.order.subtotal.to_dict() == price(25, "25.00")
        assert two.order.total.formatted_with_symbol == "$30.00"
        assert two.order.shipping.price.formatted_with_code == "5.00 USD"
        assert two.tax.amount.raw == 0
        [line] = two.order.line_items
        assert isinstance(line, LineItemView)
        assert (line.product_id, line.product_name, line.product_sku, line.quantity) == (
            "prod_mug",
            "Mug",
            "MUG-1",
            2,
        )
        assert line.price.to_dict() == price(12.5, "12.50")
        assert line.line_total.formatted_with_symbol == "$25.00"
        assert two.shipping["town_city"] == "Springfield"
        assert two.customer["id"] == cid
        assert orders[0].order_value.formatted_with_symbol == "$17.50"
        state["orders"] = orders

    @check("issue-token (secret key) -> LoginResponse")
    def _():
        cid = state["customer"].id
        r = issue_token.sync_detailed(cid, client=back_office)
        assert r.status_code == 200, (r.status_code, r.content)
        assert isinstance(r.parsed, LoginResponse), r.parsed
        assert r.parsed.customer_id == cid
        assert r.parsed.jwt.count(".") == 2
        state["jwt"] = r.parsed.jwt

    @check("the customer's orders with the bearer JWT -> OrderList, paged")
    def _():
        cid = state["customer"].id
        older, newer = state["orders"]
        me = AuthenticatedClient(base_url=patron.url, token=state["jwt"], raise_on_unexpected_status=True)
        r = list_for_customer.sync_detailed(
            cid,
            client=me,
            sort_by=ListCustomerOrdersSortBy.CREATED_AT,
            sort_direction=ListCustomerOrdersSortDirection.DESC,
        )
        assert r.status_code == 200, (r.status_code, r.content)
        page = r.parsed
        assert isinstance(page, OrderList), page
        assert all(isinstance(o, OrderView) for o in page.data)
        assert [o.id for o in page.data] == [newer.id, older.id]
        assert [o.order_value.formatted_with_symbol for o in page.data] == ["$30.00", "$17.50"]
        p = page.meta.pagination
        assert (p.total, p.count, p.per_page, p.current_page, p.total_pages) == (2, 2, 20, 1, 1)
        assert p.links.to_dict() == {}, p.links

        r = list_for_customer.sync_detailed(cid, client=me, limit=1, page=2)
        page = r.parsed
        assert isinstance(page, OrderList), (r.status_code, r.content)
        assert [o.id for o in page.data] == [older.id]
        p = page.meta.pagination
        assert (p.total, p.count, p.per_page, p.current_page, p.total_pages) == (2, 1, 1, 2, 2)
        assert p.links.next_ is UNSET, p.links
        assert isinstance(p.links.previous, str) and "page=1" in p.links.previous, p.links

        r = get_for_customer.sync_detailed(cid, newer.id, client=me)
        assert isinstance(r.parsed, OrderView), (r.status_code, r.content)
        assert r.parsed.id == newer.id
        assert r.parsed.order.line_items[0].quantity == 2

    @check("read and update the profile with the bearer JWT -> CustomerView")
    def _():
        cid = state["customer"].id
        me = AuthenticatedClient(base_url=patron.url, token=state["jwt"], raise_on_unexpected_status=True)
        r = customers_update.sync_detailed(cid, client=me, body=CustomerUpdate(firstname="Lesley"))
        assert r.status_code == 200, (r.status_code, r.content)
        assert isinstance(r.parsed, CustomerView) and r.parsed.firstname == "Lesley", r.parsed
        r = customers_get.sync_detailed(cid, client=me)
        assert isinstance(r.parsed, CustomerView), (r.status_code, r.content)
        assert (r.parsed.firstname, r.parsed.lastname, r.parsed.email) == ("Lesley", "Lawless", email)
        assert r.parsed.meta.to_dict() == {"tier": "gold"}

    @check("a bearer JWT on a merchant endpoint -> 403 ErrorBody; someone else's id -> 404")
    def _():
        me = AuthenticatedClient(base_url=patron.url, token=state["jwt"], raise_on_unexpected_status=True)
        r = customers_list.sync_detailed(client=me)
        assert r.status_code == 403, (r.status_code, r.content)
        assert isinstance(r.parsed, ErrorBody) and r.parsed.error.type_ == "forbidden", r.parsed
        r = list_for_customer.sync_detailed("cstmr_00000000000000", client=me)
        assert r.status_code == 404, (r.status_code, r.content)
        assert isinstance(r.parsed, ErrorBody) and r.parsed.status_code == 404

    @check("magic link: email-token (public key) -> Success; exchange-token -> LoginResponse")
    def _():
        cid = state["customer"].id
        before = set(TOKEN_RE.findall(patron.log()))
        r = email_token.sync_detailed(
            client=storefront,
            body=EmailTokenRequest(email=email, base_url="http://localhost:3000/login?token={token}"),
        )
        assert r.status_code == 200, (r.status_code, r.content)
        assert isinstance(r.parsed, Success) and r.parsed.success is True, r.parsed
        # no SMTP configured: patron prints the mail on its console
        deadline = time.monotonic() + 15
        fresh: list[str] = []
        while time.monotonic() < deadline and not fresh:
            fresh = [t for t in TOKEN_RE.findall(patron.log()) if t not in before]
            time.sleep(0.1)
        assert fresh, "no login link appeared on patron's console:\n" + patron.log()[-3000:]
        assert f"http://localhost:3000/login?token={fresh[0]}" in patron.log()
        r = exchange_token.sync_detailed(client=storefront, body=ExchangeTokenRequest(token=fresh[0]))
        assert r.status_code == 200, (r.status_code, r.content)
        assert isinstance(r.parsed, LoginResponse) and r.parsed.customer_id == cid, r.parsed
        state["jwt2"] = r.parsed.jwt
        r = exchange_token.sync_detailed(client=storefront, body=ExchangeTokenRequest(token=fresh[0]))
        assert r.status_code == 422, (r.status_code, r.content)
        assert isinstance(r.parsed, ErrorBody) and r.parsed.error.code == "invalid_token", r.parsed

    @check("logout (bearer) -> Success; that JWT then gets 401 ErrorBody")
    def _():
        cid = state["customer"].id
        me = AuthenticatedClient(base_url=patron.url, token=state["jwt2"], raise_on_unexpected_status=True)
        r = list_for_customer.sync_detailed(cid, client=me)
        assert isinstance(r.parsed, OrderList) and r.parsed.meta.pagination.total == 2, (r.status_code, r.content)
        r = logout.sync_detailed(client=me)
        assert r.status_code == 200, (r.status_code, r.content)
        assert isinstance(r.parsed, Success) and r.parsed.success is True
        r = list_for_customer.sync_detailed(cid, client=me)
        assert r.status_code == 401, (r.status_code, r.content)
        assert isinstance(r.parsed, ErrorBody) and r.parsed.error.type_ == "authentication_error", r.parsed
        # the other session (issue-token) is untouched
        other = AuthenticatedClient(base_url=patron.url, token=state["jwt"], raise_on_unexpected_status=True)
        assert list_for_customer.sync_detailed(cid, client=other).status_code == 200

    @check("list customers (secret key) -> the documented 200 model holds customers")
    def _():
        try:
            r = customers_list.sync_detailed(client=back_office, email=email)
        except (KeyError, TypeError, ValueError) as e:
            raise AssertionError(
                "the generated client cannot parse GET /v1/customers 200: "
                f"{type(e).__name__}: {e}. {documented_list_items('/v1/customers')}"
            ) from e
        assert r.status_code == 200, (r.status_code, r.content)
        # parsed by the model the spec names for GET /v1/customers 200
        page = r.parsed
        assert [c.id for c in page.data] == [state["customer"].id], page
        assert page.meta.pagination.total == 1
        assert page.data[0].email == email, page.data[0]

    failed = [n for n, ok in results if not ok]
    if failed:
        print("\npatron's log (last 20 lines):")
        plain = re.sub(r"\x1b\[[0-9;]*m", "", patron.log())
        print("\n".join("  " + line for line in plain.splitlines()[-20:]))
    print()
    for name in failed:
        print(f"# failed: {name}")
    print(f"# checks {len(results)}")
    print(f"# pass {len(results) - len(failed)}")
    print(f"# fail {len(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
