'use strict';
// Drives a running patron with the unmodified @chec/commerce.js 2.8.0 SDK, exactly as a
// storefront does: magic-link login (the mail is read from a real SMTP server started here),
// token exchange, profile read and update, order history with paging, single orders, logout.
//
// Each backend gets its own suite, its own SMTP server and its own patron process:
//   - SQLite always (a fresh file in a temporary directory),
//   - PostgreSQL when PATRON_SDK_POSTGRES_URL is set (run.sh sets it to a fresh schema of
//     PATRON_TEST_DATABASE_URL).
// PATRON_BIN names the patron binary (run.sh resolves it).
//
// The only concessions to running the browser SDK in Node are the two shims of chec-api.md §5.3,
// made here and never in patron: a `window.localStorage`, and dropping the header
// `X-Authorization: undefined` that Node's http module refuses to send (a browser sends it as
// the string "undefined").

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

// ---- the two shims (chec-api.md §5.3) --------------------------------------------------

const store = {};
global.window = {
  localStorage: {
    getItem: (k) => (k in store ? store[k] : null),
    setItem: (k, v) => {
      store[k] = String(v);
    },
    removeItem: (k) => {
      delete store[k];
    },
  },
};

// The very axios instance the SDK requires (resolved from the SDK's own directory).
const sdkDir = path.dirname(require.resolve('@chec/commerce.js/package.json'));
const axios = require(require.resolve('axios', { paths: [sdkDir] }));
const sdkVersion = require('@chec/commerce.js/package.json').version;

// Every request as it leaves (after the shim) and every response body as it arrives, before
// the SDK strips a top-level `_event`.
const wire = [];
axios.interceptors.request.use((config) => {
  for (const k of Object.keys(config.headers || {})) {
    if (config.headers[k] === undefined) delete config.headers[k];
  }
  return config;
});
function record(response) {
  const c = response.config;
  const flat = {};
  for (const [k, v] of Object.entries(c.headers || {})) {
    if (typeof v === 'string') flat[k.toLowerCase()] = v;
  }
  wire.push({
    method: c.method.toUpperCase(),
    url: c.baseURL + axios.getUri(c), // getUri (axios 0.21) leaves out baseURL
    headers: flat,
    status: response.status,
    data: response.data,
  });
}
axios.interceptors.response.use(
  (response) => {
    record(response);
    return response;
  },
  (error) => {
    if (error.response) record(error.response);
    return Promise.reject(error);
  },
);

const Commerce = require('@chec/commerce.js');

// ---- helpers ---------------------------------------------------------------------------

const PATRON_BIN = process.env.PATRON_BIN;
const TOKEN_RE = /^ctk_[A-Za-z0-9_-]{43}$/;
const BASE_URL = 'http://localhost:3000/account/login?token={token}&next=%2Forders';

function randomKey(prefix) {
  return prefix + crypto.randomBytes(18).toString('hex');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Paths of every `_event` key anywhere in a JSON value. */
function eventKeys(value, at = '$') {
  if (Array.isArray(value)) return value.flatMap((v, i) => eventKeys(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      (k === '_event' ? [`${at}._event`] : []).concat(eventKeys(v, `${at}.${k}`)),
    );
  }
  return [];
}

/** A real SMTP server (no auth, no TLS, as PATRON_SMTP_URL=smtp://host:port speaks). */
async function startSmtp() {
  const messages = [];
  const waiters = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', async () => {
        try {
          const raw = Buffer.concat(chunks);
          const parsed = await simpleParser(raw);
          const msg = {
            envelopeFrom: session.envelope.mailFrom && session.envelope.mailFrom.address,
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            parsed,
            raw: raw.toString('utf8'),
          };
          messages.push(msg);
          for (const w of waiters.splice(0)) w();
          callback();
        } catch (e) {
          callback(e);
        }
      });
    },
  });
  const port = await freePort();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port,
    messages,
    /** The first message to `address` not yet taken. */
    async take(address, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = messages.findIndex((m) => !m.taken && m.envelopeTo.includes(address));
        if (i >= 0) {
          messages[i].taken = true;
          return messages[i];
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no mail to ${address} within ${timeoutMs} ms`);
        await Promise.race([new Promise((r) => waiters.push(r)), sleep(Math.min(left, 200))]);
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Start patron on a free port and wait for /readyz; retries with a new port if it dies. */
async function startPatron({ databaseUrl, smtpPort, publicKey, secretKey, workdir }) {
  assert.ok(PATRON_BIN, 'PATRON_BIN must name the patron binary');
  assert.ok(fs.existsSync(PATRON_BIN), `PATRON_BIN ${PATRON_BIN} does not exist (run cargo build)`);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logPath = path.join(workdir, `patron-${attempt}.log`);
    const log = fs.openSync(logPath, 'w');
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('PATRON_')) delete env[k];
    Object.assign(env, {
      PATRON_BIND: `127.0.0.1:${port}`,
      PATRON_DATABASE_URL: databaseUrl,
      PATRON_PUBLIC_KEY: publicKey,
      PATRON_SECRET_KEY: secretKey,
      PATRON_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      PATRON_MAIL_POLL_MS: '100',
      PATRON_RATE_LIMIT_EMAIL_PER_MINUTE: '100',
      PATRON_WORKERS: '2',
      PATRON_LOG: 'info',
    });
    // cwd = a private directory, so no stray .env file is read
    const child = spawn(PATRON_BIN, ['serve'], { cwd: workdir, env, stdio: ['ignore', log, log] });
    let exited = null;
    const reap = () => child.kill('SIGKILL'); // never leave patron behind if this process dies
    process.on('exit', reap);
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      process.removeListener('exit', reap);
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60000;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/readyz`);
        if (r.status === 200) {
          return {
            url,
            logPath,
            log: () => fs.readFileSync(logPath, 'utf8'),
            stop: async () => {
              if (exited) return;
              const done = new Promise((r) => child.once('exit', r));
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 10000);
              await done;
              clearTimeout(t);
            },
          };
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    const out = fs.readFileSync(logPath, 'utf8');
    if (!exited) {
      child.kill('SIGKILL');
      throw new Error(`patron not ready within 60 s:\n${out}`);
    }
    if (attempt >= 3 || !/address already in use|AddrInUse|os error 98/i.test(out)) {
      throw new Error(`patron exited (${JSON.stringify(exited)}) before it was ready:\n${out}`);
    }
  }
}

/** A secret-key call with fetch, as a back office does; returns [status, json]. */
async function secret(app, method, urlPath, body) {
  const r = await fetch(app.url + urlPath, {
    method,
    headers: { 'X-Authorization': app.secretKey, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return [r.status, json];
}

function orderBody(customerId, created, lineItems, shippingPrice, tax, reference) {
  return {
    customer_id: customerId,
    customer_reference: reference,
    created,
    currency: 'USD',
    line_items: lineItems,
    shipping_price: shippingPrice,
    tax,
    status_payment: 'paid',
    shipping: {
      name: 'Leslie Lawless',
      street: '1 Main St',
      town_city: 'Springfield',
      postal_zip_code: '12345',
      country: 'US',
    },
  };
}

/** What the SDK rejects with, or throws, when a call fails. */
async function rejection(promiseOrFn) {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    return e;
  }
  assert.fail('expected the call to fail');
}

function money(raw, s) {
  return { raw, formatted: s, formatted_with_symbol: `$${s}`, formatted_with_code: `${s} USD` };
}

// ---- the storefront journey, once per backend -------------------------------------------

const backends = [{ name: 'SQLite', url: null }];
if (process.env.PATRON_SDK_POSTGRES_URL) {
  backends.push({ name: 'PostgreSQL', url: process.env.PATRON_SDK_POSTGRES_URL });
}

for (const backend of backends) {
  describe(`@chec/commerce.js ${sdkVersion} against patron on ${backend.name}`, () => {
    const app = {};
    let workdir;
    let smtp;
    let patron;
    let commerce;
    let events;
    let wireStart;
    const email = `leslie.${crypto.randomBytes(4).toString('hex')}@example.com`;
    const otherEmail = `robin.${crypto.randomBytes(4).toString('hex')}@example.com`;
    let customer; // as created
    let orders; // [oldest, middle, newest] as created
    let otherOrder;
    let loginToken;
    let jwt;
    let failed = false;
    /** it(), remembering a failure so that after() can show patron's log. */
    const step = (name, fn) =>
      it(name, async () => {
        try {
          await fn();
        } catch (e) {
          failed = true;
          throw e;
        }
      });

    before(async () => {
      assert.equal(sdkVersion, '2.8.0', 'the SDK under test must be exactly 2.8.0');
      workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'patron-sdk-'));
      smtp = await startSmtp();
      app.publicKey = randomKey('pk_test_');
      app.secretKey = randomKey('sk_test_');
      patron = await startPatron({
        databaseUrl: backend.url || `sqlite://${path.join(workdir, 'p.db')}`,
        smtpPort: smtp.port,
        publicKey: app.publicKey,
        secretKey: app.secretKey,
        workdir,
      });
      app.url = patron.url;
      for (const k of Object.keys(store)) delete store[k];
      events = [];
      wireStart = wire.length;
      commerce = new Commerce(app.publicKey, false, {
        url: `${app.url}/`,
        eventCallback: (e) => events.push(e),
      });
    });

    after(async () => {
      if (patron) {
        await patron.stop();
        if (failed || process.env.PATRON_SDK_SHOW_LOG) {
          const lines = patron.log().replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n');
          console.log(`patron's log (last 40 lines):\n${lines.slice(-40).join('\n')}`);
        }
      }
      if (smtp) await smtp.close();
      if (workdir && !process.env.PATRON_SDK_KEEP) fs.rmSync(workdir, { recursive: true, force: true });
    });

    step('seeds a customer and three orders with the secret key (fetch)', async () => {
      let status;
      [status, customer] = await secret(app, 'POST', '/v1/customers', {
        email,
        firstname: 'Leslie',
        lastname: 'Lawless',
      });
      assert.equal(status, 201, JSON.stringify(customer));
      assert.match(customer.id, /^cstmr_[A-Za-z0-9]{14}$/);
      assert.equal(customer.email, email);

      const now = Math.floor(Date.now() / 1000);
      const mug = { product_id: 'prod_mug', product_name: 'Mug', product_sku: 'MUG-1', price: '12.50' };
      const specs = [
        // oldest: 1 × 12.50 + 5.00 shipping = 17.50
        [now - 3 * 3600, [{ ...mug, quantity: 1 }], '5.00', '0.00', 'SDK-1001'],
        // 2 × 12.50 + 5.00 shipping = 30.00
        [now - 2 * 3600, [{ ...mug, quantity: 2 }], '5.00', '0.00', 'SDK-1002'],
        // newest: 3 × 12.50 + 1 × 9.99 = 47.49, + 3.75 tax = 51.24
        [
          now - 3600,
          [
            { ...mug, quantity: 3 },
            { product_id: 'prod_pen', product_name: 'Pen', product_sku: null, quantity: 1, price: '9.99' },
          ],
          '0.00',
          '3.75',
          'SDK-1003',
        ],
      ];
      orders = [];
      for (const [created, items, ship, tax, ref] of specs) {
        const [s, o] = await secret(app, 'POST', '/v1/orders', orderBody(customer.id, created, items, ship, tax, ref));
        assert.equal(s, 201, JSON.stringify(o));
        assert.match(o.id, /^ord_[A-Za-z0-9]{14}$/);
        assert.equal(o.customer_reference, ref);
        orders.push(o);
      }
      assert.equal(orders[1].order_value.formatted_with_symbol, '$30.00');

      // someone else's order, which Leslie must not be able to read
      const [s2, other] = await secret(app, 'POST', '/v1/customers', { email: otherEmail, firstname: 'Robin' });
      assert.equal(s2, 201, JSON.stringify(other));
      const [s3, o3] = await secret(
        app,
        'POST',
        '/v1/orders',
        orderBody(other.id, now - 60, [{ ...mug, quantity: 1 }], '5.00', '0.00', 'SDK-2001'),
      );
      assert.equal(s3, 201, JSON.stringify(o3));
      otherOrder = o3;
    });

    step("merchants.about() answers the store of the public key in Chec's merchant shape", async () => {
      const m = await commerce.merchants.about();
      const req = wire.at(-1);
      assert.equal(req.method, 'GET');
      assert.ok(req.url.endsWith('/v1/merchants'), req.url);
      assert.equal(req.headers['x-authorization'], app.publicKey, 'the SDK sends the public key');

      assert.match(m.id, /^store_[A-Za-z0-9]{14}$/);
      for (const k of ['id', 'name', 'description', 'status', 'country', 'currency', 'support_email', 'logo', 'has', 'meta']) {
        assert.ok(k in m, `${k} missing: ${JSON.stringify(m)}`);
      }
      assert.equal(typeof m.name, 'string');
      assert.equal(m.status, 'active');
      assert.equal(m.logo, null);
      assert.ok(m.has && typeof m.has === 'object' && !Array.isArray(m.has), JSON.stringify(m));
      // The only store of a deployment that never made one: no settings of its own.
      assert.equal(m.currency, null);
      assert.equal(m.country, null);
      assert.equal(m.support_email, null);

      // The secret key belongs to the same store.
      const [status, bySecret] = await secret(app, 'GET', '/v1/merchants');
      assert.equal(status, 200, JSON.stringify(bySecret));
      assert.deepEqual(bySecret, m);
    });

    step('login(email, baseUrl) answers {success: true} and a real mail carries the link', async () => {
      assert.equal(commerce.customer.isLoggedIn(), false);
      const res = await commerce.customer.login(email, BASE_URL);
      assert.deepEqual(res, { success: true });

      const req = wire.filter((w) => w.url.endsWith('/v1/customers/email-token')).at(-1);
      assert.equal(req.method, 'POST');
      assert.equal(req.headers['x-authorization'], app.publicKey, 'the SDK sends the public key');

      const mail = await smtp.take(email);
      assert.deepEqual(mail.envelopeTo, [email]);
      assert.equal(mail.parsed.subject, 'Your login link');
      const text = mail.parsed.text || '';
      const links = text.match(/https?:\/\/[^\s<>"]+/g) || [];
      const link = links.find((l) => l.startsWith('http://localhost:3000/account/login?'));
      assert.ok(link, `the text part holds the login link; it was:\n${text}`);
      const u = new URL(link);
      assert.equal(u.origin, 'http://localhost:3000');
      assert.equal(u.pathname, '/account/login');
      assert.equal(u.searchParams.get('next'), '/orders', 'the rest of base_url is kept');
      loginToken = u.searchParams.get('token');
      assert.match(loginToken, TOKEN_RE);

      // an unknown address gets the same answer, and no mail
      const unknown = await commerce.customer.login(`nobody.${Date.now()}@example.com`, BASE_URL);
      assert.deepEqual(unknown, { success: true });
    });

    step('getToken(token) logs the customer in and stores id and token in localStorage', async () => {
      const res = await commerce.customer.getToken(loginToken);
      assert.equal(res.customer_id, customer.id);
      assert.match(res.jwt, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      jwt = res.jwt;
      const header = JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));
      const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
      assert.equal(header.alg, 'EdDSA');
      assert.equal(claims.cid, customer.id, "Chec's cid claim");
      assert.ok(claims.exp > Date.now() / 1000);

      assert.equal(commerce.customer.isLoggedIn(), true);
      assert.equal(commerce.customer.id(), customer.id);
      assert.equal(commerce.customer.token(), jwt);
      assert.equal(store.commercejs_customer_id, customer.id);
      assert.equal(store.commercejs_customer_token, jwt);

      // the link works once
      const again = await rejection(commerce.customer.getToken(loginToken, false));
      assert.equal(again.statusCode, 422, JSON.stringify(again.data));
      assert.equal(again.data.error.code, 'invalid_token');
    });

    step('about() returns the logged-in customer over Bearer', async () => {
      const me = await commerce.customer.about();
      assert.equal(me.id, customer.id);
      assert.equal(me.email, email);
      assert.equal(me.firstname, 'Leslie');
      assert.equal(me.lastname, 'Lawless');
      assert.deepEqual(me.meta, []);
      assert.deepEqual(Object.keys(me).slice(0, 9), [
        'id',
        'external_id',
        'firstname',
        'lastname',
        'email',
        'phone',
        'meta',
        'created',
        'updated',
      ]);
      const req = wire.at(-1);
      assert.equal(req.method, 'GET');
      assert.ok(req.url.endsWith(`/v1/customers/${customer.id}`), req.url);
      assert.equal(req.headers.authorization, `Bearer ${jwt}`);
      assert.equal(req.headers['x-authorization'], undefined);

      // What a browser's XHR puts on the wire for the same call (no shim there): the SDK's
      // `X-Authorization: undefined` arrives as the string "undefined" next to the Bearer token.
      const r = await fetch(`${app.url}/v1/customers/${customer.id}`, {
        headers: { 'X-Authorization': 'undefined', Authorization: `Bearer ${jwt}` },
      });
      assert.equal(r.status, 200);
      assert.equal((await r.json()).id, customer.id);
    });

    step('update(...) changes the profile, and about() shows the change', async () => {
      const updated = await commerce.customer.update({ firstname: 'Lesley', phone: '+15555550100' });
      assert.equal(updated.id, customer.id);
      assert.equal(updated.firstname, 'Lesley');
      assert.equal(updated.phone, '+15555550100');
      assert.equal(updated.lastname, 'Lawless', 'a partial update keeps the other fields');
      const req = wire.at(-1);
      assert.equal(req.method, 'PUT');
      assert.equal(req.headers.authorization, `Bearer ${jwt}`);

      const me = await commerce.customer.about();
      assert.equal(me.firstname, 'Lesley');
      assert.equal(me.lastname, 'Lawless');
      assert.equal(me.email, email);
      assert.ok(me.updated >= customer.updated);
    });

    step('update(...) of a merchant-only field (meta, external_id) rejects with 403 and changes nothing', async () => {
      // patron differs from Chec here on purpose (README): these are the merchant's records.
      const e = await rejection(commerce.customer.update({ firstname: 'Mallory', meta: { tier: 'gold' } }));
      assert.equal(e.statusCode, 403, JSON.stringify(e.data));
      assert.equal(e.data.error.code, 'merchant_only_field');
      assert.ok(Array.isArray(e.data.error.errors.meta), JSON.stringify(e.data));
      const me = await commerce.customer.about();
      assert.equal(me.firstname, 'Lesley');
      assert.deepEqual(me.meta, []);
    });

    step('getOrders() lists all three orders, newest first, in one page', async () => {
      const res = await commerce.customer.getOrders();
      const req = wire.at(-1);
      const q = new URL(req.url).searchParams;
      assert.equal(q.get('sortBy'), 'created_at');
      assert.equal(q.get('sortDirection'), 'desc');

      assert.deepEqual(
        res.data.map((o) => o.id),
        [orders[2].id, orders[1].id, orders[0].id],
      );
      assert.deepEqual(res.meta.pagination, {
        total: 3,
        count: 3,
        per_page: 20,
        current_page: 1,
        total_pages: 1,
        links: {},
      });
      assert.deepEqual(
        res.data.map((o) => o.order_value.formatted_with_symbol),
        ['$51.24', '$30.00', '$17.50'],
      );
      assert.deepEqual(
        res.data.map((o) => o.customer_reference),
        ['SDK-1003', 'SDK-1002', 'SDK-1001'],
      );
      for (const o of res.data) {
        assert.equal(o.status_payment, 'paid');
        assert.deepEqual(o.currency, { code: 'USD', symbol: '$' });
      }
      assert.ok(!res.data.some((o) => o.id === otherOrder.id), "no one else's order");
    });

    step('getOrders(null, null, {limit: 2, page: 2}) pages', async () => {
      const res = await commerce.customer.getOrders(null, null, { limit: 2, page: 2 });
      const q = new URL(wire.at(-1).url).searchParams;
      assert.equal(q.get('limit'), '2');
      assert.equal(q.get('page'), '2');
      assert.deepEqual(
        res.data.map((o) => o.id),
        [orders[0].id],
      );
      const p = res.meta.pagination;
      assert.equal(p.total, 3);
      assert.equal(p.count, 1);
      assert.equal(p.per_page, 2);
      assert.equal(p.current_page, 2);
      assert.equal(p.total_pages, 2);
      assert.equal(p.links.next, undefined, 'no page after the last');
      const prev = new URL(p.links.previous);
      assert.equal(prev.origin, app.url, 'links are absolute');
      assert.equal(prev.pathname, `/v1/customers/${customer.id}/orders`);
      assert.equal(prev.searchParams.get('page'), '1');
      assert.equal(prev.searchParams.get('limit'), '2');

      const first = await commerce.customer.getOrders(null, null, { limit: 2 });
      assert.deepEqual(
        first.data.map((o) => o.id),
        [orders[2].id, orders[1].id],
      );
      assert.equal(first.meta.pagination.count, 2);
      assert.equal(first.meta.pagination.current_page, 1);
      assert.equal(first.meta.pagination.links.previous, undefined);
      const next = new URL(first.meta.pagination.links.next);
      assert.equal(next.searchParams.get('page'), '2');

      // the storefront follows the absolute link with its bearer token
      const r = await fetch(p.links.previous, { headers: { Authorization: `Bearer ${jwt}` } });
      assert.equal(r.status, 200);
      const viaLink = await r.json();
      assert.deepEqual(
        viaLink.data.map((o) => o.id),
        [orders[2].id, orders[1].id],
      );

      const asc = await commerce.customer.getOrders(null, null, { sortDirection: 'asc' });
      assert.deepEqual(
        asc.data.map((o) => o.id),
        [orders[0].id, orders[1].id, orders[2].id],
      );
    });

    step('getOrder(id) returns one order in Chec shape with exact money', async () => {
      const o = await commerce.customer.getOrder(orders[1].id);
      assert.ok(wire.at(-1).url.endsWith(`/v1/customers/${customer.id}/orders/${orders[1].id}`));
      assert.equal(o.id, orders[1].id);
      assert.equal(o.customer_reference, 'SDK-1002');
      assert.equal(o.status_payment, 'paid');
      assert.deepEqual(o.order_value, money(30, '30.00'));
      assert.deepEqual(o.order.subtotal, money(25, '25.00'));
      assert.deepEqual(o.order.total, money(30, '30.00'));
      assert.deepEqual(o.order.shipping.price, money(5, '5.00'));
      assert.equal(o.order.line_items.length, 1);
      const line = o.order.line_items[0];
      assert.match(line.id, /^item_/);
      assert.equal(line.product_id, 'prod_mug');
      assert.equal(line.product_name, 'Mug');
      assert.equal(line.product_sku, 'MUG-1');
      assert.equal(line.quantity, 2);
      assert.deepEqual(line.price, money(12.5, '12.50'));
      assert.deepEqual(line.line_total, money(25, '25.00'));
      assert.equal(o.shipping.name, 'Leslie Lawless');
      assert.equal(o.shipping.town_city, 'Springfield');
      assert.equal(o.shipping.country, 'US');
      assert.ok(o.billing !== undefined);
      assert.equal(o.customer.id, customer.id);
      assert.equal(o.customer.email, email);

      const newest = await commerce.customer.getOrder(orders[2].id);
      assert.deepEqual(newest.order.subtotal, money(47.49, '47.49'));
      assert.deepEqual(newest.tax.amount, money(3.75, '3.75'));
      assert.deepEqual(newest.order_value, money(51.24, '51.24'));
      assert.deepEqual(
        newest.order.line_items.map((l) => [l.product_name, l.quantity, l.line_total.formatted_with_symbol]),
        [
          ['Mug', 3, '$37.50'],
          ['Pen', 1, '$9.99'],
        ],
      );
    });

    step("getOrder() of another customer's order, or of no order, rejects with 404", async () => {
      const e = await rejection(commerce.customer.getOrder(otherOrder.id));
      assert.equal(e.statusCode, 404, JSON.stringify(e.data));
      assert.equal(e.data.status_code, 404);
      assert.equal(e.data.error.type, 'not_found');
      assert.match(e.message, /^Unsuccessful response \(404: Not Found\) received$/);

      const missing = await rejection(commerce.customer.getOrder('ord_0000000000000a'));
      assert.equal(missing.statusCode, 404, JSON.stringify(missing.data));

      // and not another customer's order list either
      const list = await rejection(commerce.customer.getOrders(otherOrder.customer.id));
      assert.equal(list.statusCode, 404, JSON.stringify(list.data));
    });

    step('logout() clears the SDK state; the session ends when the storefront also calls /customers/logout', async () => {
      // A storefront that wants the JWT dead calls the endpoint (the SDK has no method for it)
      const res = await commerce.request('customers/logout', 'post', null, {
        'X-Authorization': undefined,
        Authorization: `Bearer ${commerce.customer.token()}`,
      });
      assert.deepEqual(res, { success: true });

      commerce.customer.logout();
      assert.equal(commerce.customer.isLoggedIn(), false);
      assert.equal(commerce.customer.id(), null);
      assert.equal(commerce.customer.token(), null);
      assert.deepEqual(Object.keys(store), []);

      // the SDK asserts before sending anything
      const before = wire.length;
      assert.throws(() => commerce.customer.getOrders(), {
        message: 'A customer ID must be provided when customer is not logged in',
      });
      assert.throws(() => commerce.customer.getOrder(orders[0].id), {
        message: 'A customer ID must be provided when customer is not logged in',
      });
      assert.throws(() => commerce.customer.update({ firstname: 'X' }), {
        message: 'A customer ID must be provided when customer is not logged in',
      });
      assert.throws(() => commerce.customer.getOrders(customer.id), {
        message: 'A customer access token must be provided when customer is not logged in',
      });
      assert.equal(wire.length, before, 'nothing was sent');

      // about() does not assert: it asks for customers/null with "Bearer null" and is refused
      const e = await rejection(commerce.customer.about());
      assert.equal(e.statusCode, 401, JSON.stringify(e.data));
      assert.equal(e.data.status_code, 401);
      const req = wire.at(-1);
      assert.ok(req.url.endsWith('/v1/customers/null'), req.url);
      assert.equal(req.headers.authorization, 'Bearer null');

      // the old JWT, passed explicitly, is refused now that its session has ended
      const stale = await rejection(commerce.customer.getOrders(customer.id, jwt));
      assert.equal(stale.statusCode, 401, JSON.stringify(stale.data));
      const staleAbout = await rejection(commerce.customer.update({ firstname: 'Mallory' }, customer.id, jwt));
      assert.equal(staleAbout.statusCode, 401, JSON.stringify(staleAbout.data));
    });

    step('no response carried an `_event` key, and no SDK event fired', () => {
      const mine = wire.slice(wireStart);
      assert.ok(mine.length >= 15, `saw ${mine.length} SDK responses`);
      for (const w of mine) {
        assert.deepEqual(eventKeys(w.data), [], `${w.method} ${w.url} -> ${w.status}`);
        assert.notEqual(w.headers['x-authorization'], 'undefined');
      }
      assert.deepEqual(events, []);
    });

    step('only the known customer got mail, exactly one', async () => {
      await sleep(500); // the mail worker polls every 100 ms
      const got = smtp.messages.map((m) => m.envelopeTo.join(','));
      assert.deepEqual(got, [email]);
    });
  });
}
