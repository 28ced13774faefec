// A streamable-HTTP MCP server written with the TypeScript SDK that answers tool calls the
// way SEP-1699 (protocol 2025-11-25) allows: each call's SSE stream starts with a priming
// event (an id and `retry`), and `long_task` closes its stream on purpose before the answer,
// so the client must resume it with GET and Last-Event-ID.
// Usage: node resumable.mjs [port]; prints where it listens on stderr, as a JSON line in the
// shape of the daemon's own log lines (which is what the tests' harness waits for).
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { z } from 'zod';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function server() {
  const mcp = new McpServer({ name: 'resumable-test-server', version: '1.0.0' }, { capabilities: { logging: {} } });
  mcp.tool('long_task', 'Logs, closes its SSE stream before answering, logs again, then answers `text`',
    { text: z.string(), millis: z.number().int().min(0).max(60000).default(200) },
    async ({ text, millis }, extra) => {
      // On the call's own stream (the SDK relates extra's notifications to the request).
      const log = (data) => extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
      await log(`started ${text}`);
      extra.closeSSEStream?.();
      await sleep(millis);
      await log(`finished ${text}`);
      return { content: [{ type: 'text', text }] };
    });
  mcp.tool('echo', 'Answers `text`', { text: z.string() },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return mcp;
}

const app = createMcpExpressApp();
const eventStore = new InMemoryEventStore();
const transports = new Map();

app.all('/mcp', async (req, res) => {
  const id = req.headers['mcp-session-id'];
  const known = id && transports.get(id);
  if (known) {
    await known.handleRequest(req, res, req.body);
    return;
  }
  if (id || !isInitializeRequest(req.body)) {
    res.status(id ? 404 : 400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'no such session' }, id: null });
    return;
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore,
    retryInterval: 100,
    onsessioninitialized: (sid) => transports.set(sid, transport),
  });
  transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
  await server().connect(transport);
  await transport.handleRequest(req, res, req.body);
});

const listener = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = `127.0.0.1:${listener.address().port}`;
  console.error(JSON.stringify({ fields: { message: 'listening', addr } }));
});
