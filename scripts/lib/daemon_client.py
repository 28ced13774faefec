"""A raw-HTTP client of the daemon for the benchmark scripts: starts `serve` on a free port
and speaks MCP over one streamable-HTTP session, with nothing between it and the bytes."""

import json, os, socket, subprocess, sys, time, urllib.request

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

class Daemon:
    """`binary serve` on the local backend with `flags`, and one 2025-11-25 session to it."""

    def __init__(self, binary, flags, cache_home=None):
        self.port = free_port()
        env = dict(os.environ, XDG_CACHE_HOME=cache_home) if cache_home else dict(os.environ)
        self.proc = subprocess.Popen([binary, "serve", "--port", str(self.port), "--backend", "local", *flags],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1); break
            except OSError:
                time.sleep(0.1)
        self.session, self.n = None, 10
        self.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def post(self, message):
        """Posts one JSON-RPC message; returns the answer (the last SSE event, or the JSON)."""
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
                   "mcp-protocol-version": "2025-11-25"}
        if self.session:
            headers["mcp-session-id"] = self.session
        request = urllib.request.Request(self.url, json.dumps(message).encode(), headers)
        with urllib.request.urlopen(request, timeout=600) as response:
            self.session = self.session or response.headers.get("mcp-session-id")
            body = response.read().decode()
        self.last_bytes = len(body)
        datas = [l[5:].strip() for l in body.splitlines() if l.startswith("data:") and l[5:].strip()]
        return json.loads(datas[-1]) if datas else (json.loads(body) if body.strip() else None)

    def call(self, name, arguments):
        self.n += 1
        answer = self.post({"jsonrpc": "2.0", "id": self.n, "method": "tools/call",
                            "params": {"name": name, "arguments": arguments}})
        result = answer.get("result", {})
        if "error" in answer or result.get("isError"):
            sys.exit(f"{name} failed: {answer}")
        return result

    def pool_ready(self, preset):
        for p in self.call("list_presets", {})["structuredContent"]["result"]:
            if p["name"] == preset:
                return p.get("pool_ready", 0)
        return 0

    def stop(self):
        self.proc.terminate(); self.proc.wait(timeout=60)
