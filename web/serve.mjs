// A static file server for dist/, on 127.0.0.1 only. The browser suite
// imports serveStatic; `node serve.mjs [dir] [port]` serves the demo.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
};

/**
 * serveStatic serves the files under dir on 127.0.0.1:port (0 picks a free
 * port) and resolves to { server, origin } once listening.
 */
export function serveStatic(dir, port = 0) {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = normalize(join(base, path.endsWith("/") ? path + "index.html" : path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        "Content-Type": types[extname(file)] ?? "application/octet-stream",
        "Cache-Control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  });
  return new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address();
      resolveListen({ server, origin: `http://127.0.0.1:${actual}` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL(".", import.meta.url));
  const dir = process.argv[2] ?? join(root, "dist");
  const { origin } = await serveStatic(dir, Number(process.argv[3] ?? 5173));
  console.log(`serving ${dir} on ${origin}/`);
}
