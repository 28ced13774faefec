// A TypeScript SDK 2.x client (@modelcontextprotocol/client, versionNegotiation MODE) that
// lists, creates, mounts, calls and deletes through the daemon, then prints what it saw as
// JSON.
// Usage: node era-client.mjs URL MODE RUNTIME_EXEC MOUNT_NAME   (MODE: auto or legacy)
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url, mode, runtimeExec, name] = process.argv.slice(2);
const client = new Client(
  { name: 'era-client', version: '1.0.0' },
  { versionNegotiation: { mode } },
);
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const tools = (await client.listTools()).tools.map((tool) => tool.name);
const created = await client.callTool({
  name: 'create_mcp_server',
  arguments: { runtime_exec: runtimeExec, runtime_mcp: 'serve', wait_for_ready: true },
});
const jobName = created.structuredContent.job_name;
await client.callTool({ name: 'mount_mcp_server', arguments: { job_name: jobName, name } });
const echoed = await client.callTool({ name: `${name}_echo`, arguments: { text: `hello from ${name}` } });
await client.callTool({ name: 'delete_mcp_server', arguments: { job_name: jobName } });
console.log(JSON.stringify({
  protocolVersion: client.getNegotiatedProtocolVersion(),
  tools,
  echoed: echoed.content[0].text,
}));
await client.close();
