// A real Git server for the tests: Git's own smart-HTTP CGI program, `git http-backend`, behind a
// Node HTTP server on 127.0.0.1, serving bare repositories from a folder. It stands where the
// local Git server (Soft Serve) answers on the host: clone, fetch and anonymous push, as that
// server is set up (SOFT_SERVE_ANON_ACCESS=read-write), and a repository made on first push.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface GitHttpServer {
  readonly port: number;
  /** The folder of bare repositories (`<name>.git`). */
  readonly root: string;
  /** A ref of a repository on the server; undefined when it has none. */
  ref(repository: string, ref: string): string | undefined;
  close(): Promise<void>;
}

/** Starts the server; `refusePushes`: every push is refused (403), as a server without write access does. */
export async function startGitHttpServer(options: { refusePushes?: boolean } = {}): Promise<GitHttpServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "git-http-"));
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const pushing = url.pathname.endsWith("/git-receive-pack") || url.searchParams.get("service") === "git-receive-pack";
    if (pushing && options.refusePushes) {
      response.writeHead(403).end("push refused\n");
      return;
    }
    // Made on first push, as Soft Serve does.
    const repository = /^\/([^/]+\.git)\//.exec(url.pathname)?.[1];
    if (pushing && repository && !fs.existsSync(path.join(root, repository))) {
      spawnSync("git", ["init", "--quiet", "--bare", path.join(root, repository)]);
    }
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        // Anonymous pushes are taken: as if every user were known.
        REMOTE_USER: "anonymous",
        REQUEST_METHOD: request.method ?? "GET",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.replace(/^\?/, ""),
        CONTENT_TYPE: request.headers["content-type"] ?? "",
        ...(request.headers["content-encoding"] && { HTTP_CONTENT_ENCODING: request.headers["content-encoding"] }),
      },
    });
    request.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    cgi.on("close", () => {
      const output = Buffer.concat(chunks);
      const end = output.indexOf("\r\n\r\n");
      const head = output.subarray(0, end).toString().split("\r\n");
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head) {
        const [name, ...value] = line.split(":");
        if (name!.toLowerCase() === "status") status = Number.parseInt(value.join(":").trim(), 10);
        else if (name) headers[name] = value.join(":").trim();
      }
      response.writeHead(status, headers).end(output.subarray(end + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    root,
    ref: (repository, ref) => {
      const result = spawnSync("git", ["--git-dir", path.join(root, repository), "rev-parse", "--verify", "--quiet", ref], {
        encoding: "utf8",
      });
      return result.status === 0 ? result.stdout.trim() : undefined;
    },
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          fs.rmSync(root, { recursive: true, force: true });
          resolve();
        }),
      ),
  };
}
