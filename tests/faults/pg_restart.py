#!/usr/bin/env python3
"""PostgreSQL restarted under load: patron answers 503 (never 500) while the database is away,
recovers by itself, and loses no write it acknowledged. The load is merchant writes (Diesel's
pooled connections) and a customer reading their profile with a JWT (the HTTP workers' own
asynchronous connections, src/db/pg_async.rs).

Restarts the PostgreSQL cluster of the machine, so it runs alone (from .ci/run, after the test
suite), never beside other database tests. Needs PATRON_TEST_DATABASE_URL and PATRON_BIN.
Standard library only.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SK = "sk_test_faultfaultfault"
PK = "pk_test_faultfaultfault"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, key=SK, timeout=10, jwt=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("X-Authorization", key)
    if jwt:
        req.add_header("Authorization", f"Bearer {jwt}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return None, str(e)


def psql(base_url, sql):
    subprocess.run(["psql", base_url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def cluster():
    """(version, name) of the local cluster, for pg_ctlcluster."""
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "5432":
            return parts[0], parts[1]
    raise SystemExit("no PostgreSQL cluster on port 5432 found by pg_lsclusters")


def pg_ctl(action):
    version, name = cluster()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action], check=True)


def wait_pg(base_url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit("PostgreSQL did not come back")


def main():
    base = os.environ.get("PATRON_TEST_DATABASE_URL")
    binary = os.environ.get("PATRON_BIN")
    if not base or not binary:
        raise SystemExit("set PATRON_TEST_DATABASE_URL and PATRON_BIN")
    schema = f"patron_fault_{os.getpid()}"
    psql(base, f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="patron-fault-", suffix=".log", delete=False)
    env = dict(os.environ,
               PATRON_BIND=f"127.0.0.1:{port}",
               PATRON_DATABASE_URL=f"{base}{sep}options=-csearch_path%3D{schema}",
               PATRON_PUBLIC_KEY=PK, PATRON_SECRET_KEY=SK,
               PATRON_DATABASE_TIMEOUT="1", PATRON_DATABASE_POOL_SIZE="4",
               PATRON_LOG="warn")
    proc = subprocess.Popen([binary], env=env, stdout=log, stderr=log)
    failures = []
    try:
        for _ in range(200):
            if request("GET", f"{url}/readyz")[0] == 200:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("patron did not become ready")

        status, reader = request("POST", f"{url}/v1/customers", {"email": "reader@example.com"})
        if status != 201:
            raise SystemExit(f"cannot create the reading customer: {status} {reader}")
        profile = f"{url}/v1/customers/{reader['id']}"
        status, issued = request("POST", f"{profile}/issue-token")
        if status != 200:
            raise SystemExit(f"cannot issue the reader's JWT: {status} {issued}")
        jwt = issued["jwt"]

        results = []  # (phase, status, email)
        reads = []  # (phase, status)
        phase = ["before"]
        stop = threading.Event()

        def read():
            while not stop.is_set():
                status, _ = request("GET", profile, key="undefined", jwt=jwt)
                reads.append((phase[0], status))
                time.sleep(0.01)

        def load(worker):
            i = 0
            while not stop.is_set():
                email = f"w{worker}-{i}@example.com"
                status, _ = request("POST", f"{url}/v1/customers", {"email": email})
                results.append((phase[0], status, email))
                i += 1
                time.sleep(0.01)

        threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        threads.append(threading.Thread(target=read))
        for t in threads:
            t.start()
        time.sleep(2)
        phase[0] = "outage"
        pg_ctl("stop")
        time.sleep(3)
        ready_during = request("GET", f"{url}/readyz")[0]
        pg_ctl("start")
        wait_pg(base)
        phase[0] = "after"
        time.sleep(6)
        stop.set()
        for t in threads:
            t.join()

        by_phase = {}
        for ph, status, _ in results:
            by_phase.setdefault(ph, {}).setdefault(status, 0)
            by_phase[ph][status] += 1
        print("statuses by phase:", json.dumps(by_phase, default=str))
        bad = [(ph, s) for ph, s, _ in results if s not in (201, 503)]
        if bad:
            failures.append(f"answers other than 201 or 503: {bad[:10]}")
        if by_phase.get("outage", {}).get(503, 0) == 0:
            failures.append("no 503 while PostgreSQL was down")
        if ready_during != 503:
            failures.append(f"/readyz answered {ready_during} while PostgreSQL was down")
        tail = [s for ph, s, _ in results if ph == "after"][-20:]
        if not tail or any(s != 201 for s in tail):
            failures.append(f"did not recover by itself: last answers {tail}")
        if request("GET", f"{url}/readyz")[0] != 200:
            failures.append("/readyz not 200 after recovery")

        reads_by_phase = {}
        for ph, status in reads:
            reads_by_phase.setdefault(ph, {}).setdefault(status, 0)
            reads_by_phase[ph][status] += 1
        print("customer reads by phase:", json.dumps(reads_by_phase, default=str))
        bad = [(ph, s) for ph, s in reads if s not in (200, 503)]
        if bad:
            failures.append(f"customer reads answered other than 200 or 503: {bad[:10]}")
        if reads_by_phase.get("outage", {}).get(503, 0) == 0:
            failures.append("no customer read got 503 while PostgreSQL was down")
        tail = [s for ph, s in reads if ph == "after"][-20:]
        if not tail or any(s != 200 for s in tail):
            failures.append(f"customer reads did not recover by themselves: last answers {tail}")

        acknowledged = {e for _, s, e in results if s == 201}
        stored = set()
        page = 1
        while True:
            status, body = request("GET", f"{url}/v1/customers?limit=200&page={page}")
            if status != 200:
                failures.append(f"listing after recovery failed: {status}")
                break
            stored |= {c["email"] for c in body["data"]}
            if page >= body["meta"]["pagination"]["total_pages"]:
                break
            page += 1
        lost = acknowledged - stored
        if lost:
            failures.append(f"{len(lost)} acknowledged writes lost, e.g. {sorted(lost)[:5]}")
        print(f"acknowledged {len(acknowledged)}, stored {len(stored)}, lost {len(lost)}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        wait_pg(base)
        psql(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    if failures:
        print("FAILED:\n- " + "\n- ".join(failures))
        print(f"(patron log: {log.name})")
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
