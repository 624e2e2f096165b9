// The browser suite: real headless Chromium, pages on two loopback origins
// (one in the "web" origin set, one not), the portico binary on a third
// port. Every case runs inside a page, through the bundle's window.portico
// probes, and asserts on what JavaScript saw; the server's log and raw Node
// requests supply what the browser hides. Run it with `make e2e`, or from
// web/ with `node --test --test-reporter=spec e2e/`.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  launchBrowser,
  porticoBinary,
  rawRequest,
  sleep,
  startPages,
  startPortico,
  stopAll,
  webDir,
  withTimeout,
} from "./harness.mjs";

const service = "/portico.profile.v1.ProfileService";
const proc = (method) => `${service}/${method}`;
const transports = ["connect", "grpc-web"];
// CORS-safelisted response header names (https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name):
// JavaScript may read these without Access-Control-Expose-Headers.
const safelisted = new Set([
  "cache-control",
  "content-language",
  "content-length",
  "content-type",
  "expires",
  "last-modified",
  "pragma",
]);
const caseTimeout = 30_000;

let server; // { baseUrl, logs }
let browser;
let allowed; // an origin in the "web" origin set
let disallowed; // an origin in no origin set
let subjects = 0;

before(
  async () => {
    const binary = porticoBinary();
    [allowed, disallowed] = await startPages(2);
    server = await startPortico({ binary, origins: [allowed] });
    browser = await launchBrowser();
    console.log(`# portico ${server.baseUrl}, allowed page ${allowed}, disallowed page ${disallowed}`);
  },
  { timeout: 240_000 },
);

after(stopAll, { timeout: 60_000 });

/** subject returns a fresh user id, so that cases never share a profile. */
function subject(tag) {
  subjects++;
  return `${tag}-${subjects}`.replace(/[^a-z0-9_-]/g, "-");
}

/**
 * openPage opens origin's demo page in a fresh browser context (its own
 * cookies and preflight cache) and records the network: every request the
 * page made as playwright reports it, and the preflights, which only the
 * DevTools protocol shows.
 */
async function openPage(origin, path = "/") {
  const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const net = { requests: [], preflights: [], preflightResponses: new Map() };
    page.on("request", (r) => net.requests.push({ method: r.method(), url: r.url() }));
    const cdp = await context.newCDPSession(page);
    cdp.on("Network.requestWillBeSent", (e) => {
      if (e.request.method === "OPTIONS") {
        net.preflights.push({ id: e.requestId, url: e.request.url, headers: e.request.headers });
      }
    });
    cdp.on("Network.responseReceived", (e) => {
      if (e.type === "Preflight") {
        net.preflightResponses.set(e.response.url, { status: e.response.status, headers: e.response.headers });
      }
    });
    await cdp.send("Network.enable");
    await page.goto(origin + path);
    await page.waitForSelector("body[data-ready=true]");
    return { page, net, context, close: () => context.close() };
  } catch (err) {
    await context.close();
    throw err;
  }
}

/** call runs window.portico.call(spec) in the page, against the gateway. */
function call(page, spec) {
  return withTimeout(
    page.evaluate((s) => window.portico.call(s), { baseUrl: server.baseUrl, ...spec }),
    15_000,
    `in-page ${spec.method}`,
  );
}

/** seed creates a profile from Node (no browser) and returns its ETag. */
async function seed(id, fields = {}) {
  const res = await rawRequest(server.baseUrl + proc("UpdateProfile"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${server.token(id)}` },
    body: JSON.stringify({ displayName: `User ${id}`, email: `${id}@example.com`, ...fields }),
  });
  assert.equal(res.status, 200, `seed ${id}: ${res.body}`);
  return res.headers.etag;
}

/**
 * The credentialed caller of the case study: cookies, a development token
 * for id (none for ""), client version.
 */
function caller(transport, id) {
  return { transport, token: id ? server.token(id) : undefined, clientVersion: "e2e-1", credentials: "include" };
}

/** preflightLog returns the server's preflight lines for procedure since mark. */
function preflightLog(mark, procedure, kind = "approved") {
  return server.logs
    .slice(mark)
    .filter((l) => l.message === `cors: preflight ${kind}` && l.procedure === procedure);
}

/** waitForLog waits up to ms for pred(lines) and then `settle` ms more. */
async function settledLog(get, { atLeast = 0, ms = 3_000, settle = 500 } = {}) {
  const deadline = Date.now() + ms;
  while (get().length < atLeast && Date.now() < deadline) {
    await sleep(25);
  }
  await sleep(settle);
  return get();
}

function assertOk(outcome, what) {
  assert.ok(outcome.ok, `${what}: ${JSON.stringify(outcome.error)}`);
}

function assertCode(outcome, codeName) {
  assert.equal(outcome.ok, false, `expected ${codeName}, call succeeded`);
  assert.equal(outcome.error.codeName, codeName, `error seen by JS: ${outcome.error.message}`);
  assert.ok(outcome.error.isConnectError);
  assert.doesNotMatch(outcome.error.message, /Failed to fetch/);
}

for (const transport of transports) {
  describe(transport, () => {
    test(
      `${transport}: UpdateProfile creates a profile; JS reads ETag and Location`,
      { timeout: caseTimeout },
      async () => {
        const { page, close } = await openPage(allowed);
        try {
          const id = subject("create");
          const o = await call(page, {
            ...caller(transport, id),
            method: "UpdateProfile",
            request: { displayName: "Ada", email: "ada@example.com", bio: "first" },
          });
          assertOk(o, "UpdateProfile");
          assert.equal(o.response.profile.etag, '"profile-v1"');
          assert.equal(o.headers.etag, '"profile-v1"', "ETag response header read by JS");
          assert.equal(o.headers.location, proc("GetProfile"), "Location response header read by JS");
        } finally {
          await close();
        }
      },
    );

    const reads = transport === "connect" ? [["GET", true], ["POST", false]] : [["POST", false]];
    for (const [httpMethod, useHttpGet] of reads) {
      test(
        `${transport}: GetProfile via ${transport === "connect" ? `Connect ${httpMethod}` : "POST"}; JS reads the ETag`,
        { timeout: caseTimeout },
        async () => {
          const id = subject("read");
          const etag = await seed(id);
          const { page, net, close } = await openPage(allowed);
          try {
            const o = await call(page, { ...caller(transport, id), method: "GetProfile", useHttpGet });
            assertOk(o, "GetProfile");
            assert.equal(o.response.profile.id, id);
            assert.equal(o.headers.etag, etag, "ETag response header read by JS");
            const sent = net.requests.filter((r) => new URL(r.url).pathname === proc("GetProfile"));
            assert.deepEqual(
              sent.map((r) => r.method),
              [httpMethod],
            );
            if (useHttpGet) {
              assert.match(sent[0].url, /[?&]connect=v1(&|$)/);
            }
          } finally {
            await close();
          }
        },
      );
    }

    test(
      `${transport}: UpdateProfile with If-Match replaces the profile; JS reads the new ETag`,
      { timeout: caseTimeout },
      async () => {
        const id = subject("ifmatch");
        const etag = await seed(id);
        const { page, close } = await openPage(allowed);
        try {
          const o = await call(page, {
            ...caller(transport, id),
            method: "UpdateProfile",
            ifMatch: etag,
            request: { displayName: "Grace", email: "grace@example.com" },
          });
          assertOk(o, "UpdateProfile");
          assert.equal(o.response.profile.displayName, "Grace");
          assert.equal(o.headers.etag, '"profile-v2"', "ETag response header read by JS");
          assert.equal(o.headers.location, proc("GetProfile"));
        } finally {
          await close();
        }
      },
    );

    test(
      `${transport}: stale If-Match is failed_precondition with EtagMismatch and the current ETag`,
      { timeout: caseTimeout },
      async () => {
        const id = subject("stale");
        const v1 = await seed(id);
        const { page, close } = await openPage(allowed);
        try {
          const fresh = await call(page, {
            ...caller(transport, id),
            method: "UpdateProfile",
            ifMatch: v1,
            request: { displayName: "Second", email: `${id}@example.com` },
          });
          assertOk(fresh, "UpdateProfile v1 -> v2");
          const o = await call(page, {
            ...caller(transport, id),
            method: "UpdateProfile",
            ifMatch: v1,
            request: { displayName: "Lost update", email: `${id}@example.com` },
          });
          assertCode(o, "FailedPrecondition");
          assert.deepEqual(o.error.etagMismatch, { requestedEtag: v1, currentEtag: '"profile-v2"' });
          assert.equal(o.error.metadata.etag, '"profile-v2"', "current ETag in the error metadata");
        } finally {
          await close();
        }
      },
    );

    test(`${transport}: no Authorization is unauthenticated`, { timeout: caseTimeout }, async () => {
      const { page, close } = await openPage(allowed);
      try {
        const o = await call(page, { ...caller(transport, ""), method: "GetProfile" });
        assertCode(o, "Unauthenticated");
      } finally {
        await close();
      }
    });

    test(
      `${transport}: invalid input is invalid_argument with decoded field violations`,
      { timeout: caseTimeout },
      async () => {
        const { page, close } = await openPage(allowed);
        try {
          const o = await call(page, {
            ...caller(transport, subject("invalid")),
            method: "UpdateProfile",
            request: { displayName: "", email: "not-an-email", bio: "x".repeat(281) },
          });
          assertCode(o, "InvalidArgument");
          assert.ok(o.error.detailTypes.includes("buf.validate.Violations"), o.error.detailTypes.join());
          assert.deepEqual(o.error.violations.map((v) => v.field).sort(), ["bio", "display_name", "email"]);
        } finally {
          await close();
        }
      },
    );

    test(
      `${transport}: GetPublicProfile from a disallowed origin, without credentials, succeeds`,
      { timeout: caseTimeout },
      async () => {
        const id = subject("public");
        await seed(id, { displayName: "Public Person", bio: "hello" });
        const { page, close } = await openPage(disallowed);
        try {
          const o = await call(page, {
            transport,
            credentials: "omit",
            method: "GetPublicProfile",
            request: { id },
          });
          assertOk(o, "GetPublicProfile");
          assert.deepEqual(o.response.profile, { id, displayName: "Public Person", bio: "hello" });
        } finally {
          await close();
        }
      },
    );

    test(
      `${transport}: a credentialed call from a disallowed origin fails in JS; the server logs why`,
      { timeout: caseTimeout },
      async () => {
        const id = subject("evil");
        await seed(id);
        const { page, close } = await openPage(disallowed);
        try {
          const mark = server.logs.length;
          const o = await call(page, { ...caller(transport, id), method: "GetProfile" });
          assert.equal(o.ok, false, "the browser must block the call");
          assert.equal(o.error.codeName, "Unknown");
          assert.match(o.error.message, /Failed to fetch/);
          assert.equal(o.headers, undefined, "no response headers reach JS");
          const refused = await settledLog(() => preflightLog(mark, proc("GetProfile"), "refused"), { atLeast: 1 });
          assert.equal(refused.length, 1, JSON.stringify(refused));
          assert.equal(refused[0].severity, "WARNING");
          assert.equal(refused[0].reason, "origin not allowed");
          assert.deepEqual(refused[0].origin, [disallowed]);
        } finally {
          await close();
        }
      },
    );

    test(
      `${transport}: a response header the policy does not expose is unreadable in JS`,
      { timeout: caseTimeout },
      async () => {
        const id = subject("hidden");
        await seed(id);
        const { page, close } = await openPage(allowed);
        try {
          const o = await call(page, { ...caller(transport, id), method: "GetProfile" });
          assertOk(o, "GetProfile");
          // The same call from Node, which sees every header.
          const raw =
            transport === "connect"
              ? await rawRequest(server.baseUrl + proc("GetProfile"), {
                  method: "POST",
                  headers: {
                    Origin: allowed,
                    Authorization: `Bearer ${server.token(id)}`,
                    "X-Client-Version": "e2e-1",
                    "Content-Type": "application/json",
                    "Accept-Encoding": "gzip",
                  },
                  body: "{}",
                })
              : await rawRequest(server.baseUrl + proc("GetProfile"), {
                  method: "POST",
                  headers: {
                    Origin: allowed,
                    Authorization: `Bearer ${server.token(id)}`,
                    "X-Client-Version": "e2e-1",
                    "Content-Type": "application/grpc-web+proto",
                    "X-Grpc-Web": "1",
                    "Accept-Encoding": "gzip",
                  },
                  body: Buffer.from([0, 0, 0, 0, 0]),
                });
          assert.equal(raw.status, 200);
          const exposed = new Set(
            String(raw.headers["access-control-expose-headers"] ?? "")
              .split(",")
              .map((h) => h.trim().toLowerCase())
              .filter(Boolean),
          );
          const hidden = Object.keys(raw.headers).filter((h) => !safelisted.has(h) && !exposed.has(h));
          for (const h of ["date", "vary"]) {
            assert.ok(hidden.includes(h), `${h} is on the response (Node saw ${Object.keys(raw.headers)})`);
          }
          if (transport === "connect") {
            assert.ok(hidden.includes("accept-encoding"), "connect-go sends Accept-Encoding");
          }
          const readable = hidden.filter((h) => h in o.headers);
          assert.deepEqual(readable, [], `JS read unexposed headers ${readable}`);
          assert.ok("etag" in o.headers, "JS reads the exposed ETag (the page can read headers at all)");
          for (const h of Object.keys(o.headers)) {
            assert.ok(safelisted.has(h) || exposed.has(h), `JS read ${h}, neither safelisted nor exposed`);
          }
        } finally {
          await close();
        }
      },
    );

    test(
      `${transport}: WatchProfile streams the current profile, then the next version`,
      { timeout: caseTimeout },
      async () => {
        const id = subject("watch");
        const v1 = await seed(id, { displayName: "Before" });
        const { page, close } = await openPage(allowed);
        try {
          const r = await withTimeout(
            page.evaluate(
              async ({ spec, v1, id }) => {
                const w = window.portico.watch(spec);
                const first = await w.next(5_000);
                const update = await window.portico.call({
                  ...spec,
                  method: "UpdateProfile",
                  ifMatch: v1,
                  request: { displayName: "After", email: `${id}@example.com` },
                });
                const second = await w.next(5_000);
                const closed = await w.close();
                return { first, update, second, closed };
              },
              { spec: { baseUrl: server.baseUrl, ...caller(transport, id) }, v1, id },
            ),
            20_000,
            "in-page WatchProfile",
          );
          assertOk(r.first, "first message");
          assert.equal(r.first.response.profile.etag, v1);
          assert.equal(r.first.response.profile.displayName, "Before");
          assertOk(r.update, "UpdateProfile during the watch");
          assertOk(r.second, "second message");
          assert.equal(r.second.response.profile.etag, '"profile-v2"');
          assert.equal(r.second.response.profile.displayName, "After");
          assert.equal(r.closed.done, true);
          assert.equal(r.closed.error?.codeName, "Canceled", JSON.stringify(r.closed));
        } finally {
          await close();
        }
      },
    );
  });
}

describe("preflights", () => {
  test(
    "connect: identical credentialed calls share one preflight, cached per Access-Control-Max-Age 3600",
    { timeout: caseTimeout },
    async () => {
      const id = subject("cache");
      await seed(id);
      const { page, net, close } = await openPage(allowed);
      try {
        const mark = server.logs.length;
        const spec = { ...caller("connect", id), method: "GetProfile" };
        assertOk(await call(page, spec), "first call");
        assertOk(await call(page, spec), "second call");
        const approved = await settledLog(() => preflightLog(mark, proc("GetProfile")), { atLeast: 1 });
        assert.equal(approved.length, 1, "one preflight at the server for two calls");
        const sent = net.preflights.filter((p) => new URL(p.url).pathname === proc("GetProfile"));
        assert.equal(sent.length, 1, "one preflight sent by the browser");
        const answer = net.preflightResponses.get(sent[0].url);
        assert.equal(answer?.status, 204);
        const maxAge = Object.entries(answer.headers).find(([k]) => k.toLowerCase() === "access-control-max-age");
        assert.equal(maxAge?.[1], "3600", "the browser got Access-Control-Max-Age: 3600");

        // Chromium caches a preflight for 5 s when Max-Age is absent: a third
        // call after that still needs none, because Max-Age was honoured.
        await sleep(5_500);
        assertOk(await call(page, spec), "third call, 5.5 s later");
        const after = await settledLog(() => preflightLog(mark, proc("GetProfile")), { settle: 300 });
        assert.equal(after.length, 1, "still one preflight after the 5 s default cache lifetime");
        assert.equal(net.preflights.length, 1);

        // The same preflight from Node (after counting: it is logged too).
        const raw = await rawRequest(server.baseUrl + proc("GetProfile"), {
          method: "OPTIONS",
          headers: {
            Origin: allowed,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": sent[0].headers["Access-Control-Request-Headers"],
          },
        });
        assert.equal(raw.status, 204);
        assert.equal(raw.headers["access-control-max-age"], "3600");
      } finally {
        await close();
      }
    },
  );

  test(
    "connect: a Connect GET to GetPublicProfile without custom headers sends no preflight",
    { timeout: caseTimeout },
    async () => {
      const id = subject("simple");
      await seed(id);
      const { page, net, close } = await openPage(disallowed);
      try {
        const mark = server.logs.length;
        const o = await call(page, {
          transport: "connect",
          credentials: "same-origin",
          useHttpGet: true,
          method: "GetPublicProfile",
          request: { id },
        });
        assertOk(o, "GetPublicProfile");
        assert.equal(o.response.profile.id, id);
        const sent = net.requests.filter((r) => new URL(r.url).pathname === proc("GetPublicProfile"));
        assert.deepEqual(
          sent.map((r) => r.method),
          ["GET"],
        );
        const logged = await settledLog(() => [
          ...preflightLog(mark, proc("GetPublicProfile"), "approved"),
          ...preflightLog(mark, proc("GetPublicProfile"), "refused"),
        ]);
        assert.deepEqual(logged, [], "no preflight at the server");
        assert.deepEqual(
          net.preflights.map((p) => p.url),
          [],
          "no preflight sent by the browser",
        );
      } finally {
        await close();
      }
    },
  );
});

describe("session cookie", () => {
  // Pages and gateway are on 127.0.0.1, different ports: same site, so the
  // SameSite=Lax cookie goes with credentialed fetches. Chromium treats
  // 127.0.0.1 as a secure context, so it keeps the Secure, __Host- cookie
  // even over plain http; other hosts would need https.
  test(
    "connect: CreateSession sets an HttpOnly cookie that authenticates calls without a token; DeleteSession clears it",
    { timeout: caseTimeout },
    async () => {
      const id = subject("cookie");
      const { page, context, close } = await openPage(allowed);
      try {
        const base = { baseUrl: server.baseUrl, transport: "connect", credentials: "include", clientVersion: "e2e-1" };
        const created = await withTimeout(
          page.evaluate((s) => window.portico.session(s), { ...base, token: server.token(id), method: "CreateSession" }),
          15_000,
          "in-page CreateSession",
        );
        assertOk(created, "CreateSession");
        assert.equal(created.response.subject, id);
        const jar = await context.cookies(server.baseUrl);
        const cookie = jar.find((c) => c.name === "__Host-portico_session");
        assert.ok(cookie, `the browser stored the session cookie (jar: ${JSON.stringify(jar.map((c) => c.name))})`);
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.secure, true);
        assert.equal(cookie.sameSite, "Lax");
        assert.equal(cookie.path, "/");
        assert.doesNotMatch(await page.evaluate(() => document.cookie), /portico_session/, "JavaScript cannot read it");

        const updated = await call(page, {
          ...base,
          method: "UpdateProfile",
          request: { displayName: "Cookie Monster", email: `${id}@example.com` },
        });
        assertOk(updated, "UpdateProfile with the cookie alone");
        assert.equal(updated.response.profile.id, id);

        const deleted = await withTimeout(
          page.evaluate((s) => window.portico.session(s), { ...base, method: "DeleteSession" }),
          15_000,
          "in-page DeleteSession",
        );
        assertOk(deleted, "DeleteSession");
        const after = await context.cookies(server.baseUrl);
        assert.equal(after.find((c) => c.name === "__Host-portico_session"), undefined, "the cookie is cleared");
        assertCode(await call(page, { ...base, method: "GetProfile" }), "Unauthenticated");
      } finally {
        await close();
      }
    },
  );
});

describe("demo page", () => {
  test("demo: save, load, edit with If-Match and public lookup; screenshot", { timeout: caseTimeout }, async () => {
    const id = subject("demo");
    const query = new URLSearchParams({ server: server.baseUrl, token: server.token(id) });
    const { page, close } = await openPage(allowed, `/?${query}`);
    try {
      const status = page.locator("#status");
      await page.fill("#display-name", "Ada Lovelace");
      await page.fill("#email", "ada@example.com");
      await page.fill("#bio", "Analytical engines, mostly.");
      await page.click("#save");
      await status.filter({ hasText: 'Saved: ETag "profile-v1"' }).waitFor();
      await page.click("#load");
      await status.filter({ hasText: 'Loaded' }).waitFor();
      await page.fill("#bio", "Analytical engines, and notes on them.");
      await page.click("#save");
      await status.filter({ hasText: 'Saved: ETag "profile-v2", Location /portico.profile.v1.ProfileService/GetProfile' }).waitFor();
      assert.equal(await page.textContent("#etag"), '"profile-v2"');
      await page.fill("#public-id", id);
      await page.click("#lookup");
      await page.locator("#public-result").filter({ hasText: "Ada Lovelace" }).waitFor();
      assert.equal(await page.locator("#calls tr").count(), 4);
      const dir = join(webDir, "e2e", "artifacts");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, "demo.png");
      await page.screenshot({ path: file, fullPage: true });
      console.log(`# screenshot: ${file}`);
    } finally {
      await close();
    }
  });
});
