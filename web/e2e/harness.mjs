// Processes and helpers of the browser suite: the portico binary, static
// origins for the test pages, Debian's chromium through playwright-core, and
// raw HTTP requests that see what the browser hides. Everything started here
// is stopped by stopAll(), which the suite's after() hook and process exit
// both call; every wait is bounded.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build } from "../build.mjs";
import { serveStatic } from "../serve.mjs";

export const webDir = join(dirname(fileURLToPath(import.meta.url)), "..");
export const repoDir = join(webDir, "..");

/** Chromium's flags: headless, no sandbox (root in CI), nothing phoning home. */
export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const cleanups = [];

/** onCleanup registers fn to run in stopAll, most recent first. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

/** stopAll runs every cleanup, each bounded by 10 s, and reports none of their errors. */
export async function stopAll() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    await withTimeout(Promise.resolve().then(fn), 10_000, "cleanup").catch((err) => {
      console.error(`e2e: cleanup: ${err.message}`);
    });
  }
}

// Last resort if the runner exits without running after() (an uncaught
// error, a signal): close the watchdogs' pipes, which stops their servers.
// Dying without an exit event closes them too.
const children = new Set();
process.once("exit", () => {
  for (const child of children) {
    child.stdin.destroy();
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    stopAll().finally(() => process.exit(130));
  });
}

/** withTimeout rejects if p does not settle within ms. */
export function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** tempDir makes a directory that stopAll removes. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * portico returns the path of the portico binary: $PORTICO_BIN, or a fresh
 * `go build` of ./cmd/portico.
 */
export function porticoBinary() {
  if (process.env.PORTICO_BIN) {
    return process.env.PORTICO_BIN;
  }
  const out = join(tempDir("portico-bin-"), "portico");
  const r = spawnSync("go", ["build", "-o", out, "./cmd/portico"], {
    cwd: repoDir,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 180_000,
  });
  if (r.status !== 0) {
    throw new Error(`go build ./cmd/portico failed (${r.error?.message ?? `exit ${r.status}`})`);
  }
  return out;
}

// watchdog runs "$@" in the background (stdin from /dev/null) and stops it
// with SIGTERM once its own stdin reaches EOF, or with SIGKILL when the
// watchdog gets SIGTERM; it ends when the command does.
const watchdog = `"$@" & pid=$!
trap 'kill -KILL "$pid" 2>/dev/null' TERM
while kill -0 "$pid" 2>/dev/null; do
  read -r -t 1 _; rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -le 128 ]; then kill -TERM "$pid" 2>/dev/null; break; fi
done
wait "$pid"`;

/**
 * startPortico runs the gateway on a free port with debug logging and the
 * given origins bound to the "web" origin set, in the development
 * environment. It resolves once the server logged "listening", to an object
 * with its baseUrl, its log lines, and token(subject), which returns a
 * development token from `portico dev-token` for the server's data
 * directory.
 */
export async function startPortico({ binary, origins }) {
  const dataDir = tempDir("portico-data-");
  // portico runs under a bash watchdog that reads our pipe: when this
  // process dies, even by SIGKILL, the pipe closes and the watchdog stops
  // portico, so no server outlives the suite. It exits with portico's status.
  const child = spawn("bash", ["-c", watchdog, "portico-watchdog", binary], {
    env: {
      ...process.env,
      PORT: "0",
      PORTICO_DATA_DIR: dataDir,
      PORTICO_ENV: "dev",
      PORTICO_LOG_LEVEL: "debug",
      PORTICO_ORIGINS_WEB: origins.join(","),
      PORTICO_SHUTDOWN_GRACE: "1s",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    child.stdin.end(); // the watchdog sends portico SIGTERM
    await withTimeout(exited, 5_000, "portico shutdown").catch(() => {
      child.kill("SIGTERM"); // the watchdog sends portico SIGKILL
      return withTimeout(exited, 2_000, "portico kill");
    });
  });

  const logs = [];
  const stderr = [];
  let listening;
  const ready = new Promise((resolve, reject) => {
    listening = { resolve, reject };
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = { message: line };
    }
    logs.push(entry);
    if (entry.message === "listening") {
      listening.resolve(entry);
    }
  });
  createInterface({ input: child.stderr }).on("line", (line) => stderr.push(line));
  exited.then(({ code, signal }) =>
    listening.reject(new Error(`portico exited (${code ?? signal}) before listening: ${stderr.join("\n")}`)),
  );
  const entry = await withTimeout(ready, 20_000, "portico start");
  const port = /:(\d+)$/.exec(entry.addr)?.[1];
  if (!port) {
    throw new Error(`portico: cannot parse the listening address ${entry.addr}`);
  }
  const tokens = new Map();
  const token = (subject) => {
    if (!tokens.has(subject)) {
      tokens.set(subject, devToken(binary, dataDir, subject));
    }
    return tokens.get(subject);
  };
  return { baseUrl: `http://127.0.0.1:${port}`, logs, stderr, token };
}

/** devToken runs `portico dev-token --sub subject` for dataDir. */
function devToken(binary, dataDir, subject) {
  const r = spawnSync(binary, ["dev-token", "--sub", subject], {
    env: { PATH: process.env.PATH, PORTICO_DATA_DIR: dataDir, PORTICO_ENV: "dev" },
    encoding: "utf8",
    timeout: 10_000,
  });
  if (r.status !== 0) {
    throw new Error(`portico dev-token --sub ${subject}: ${r.error?.message ?? r.stderr}`);
  }
  return r.stdout.trim();
}

/**
 * startPages builds the bundle and serves it from n origins on 127.0.0.1,
 * each on its own port: same site, different origins.
 */
export async function startPages(n) {
  const dist = await build();
  const origins = [];
  for (let i = 0; i < n; i++) {
    const { server, origin } = await serveStatic(dist, 0);
    onCleanup(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    origins.push(origin);
  }
  return origins;
}

/**
 * launchBrowser starts Debian's chromium ($CHROMIUM, default
 * /usr/bin/chromium), headless. playwright-core gives it a fresh temporary
 * --user-data-dir and removes it on close; each browser.newContext() is an
 * isolated profile with its own cookies and preflight cache.
 */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: chromiumArgs,
    timeout: 30_000,
  });
  onCleanup(() => browser.close());
  return browser;
}

/**
 * rawRequest makes a request from Node, outside any browser: it sees every
 * response header. It resolves to { status, headers, body } (header names in
 * lower case, as Node gives them).
 */
export function rawRequest(url, { method = "GET", headers = {}, body } = {}) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { method, headers }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    }),
    10_000,
    `${method} ${url}`,
  );
}

/** sleep resolves after ms. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
