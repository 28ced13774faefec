// Checks JSON Schemas the strict way MCP clients built on ajv do (the TypeScript SDK, MCP
// Inspector): draft 2020-12, strict mode, only the standard formats. Reads a JSON array of
// MCP tools on stdin; prints each problem and exits 1 if there is any.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const tools = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));
let problems = 0;
for (const tool of tools) {
  for (const key of ['inputSchema', 'outputSchema']) {
    if (!tool[key]) continue;
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, logger: false });
    addFormats.default(ajv);
    try {
      ajv.compile(tool[key]);
    } catch (error) {
      problems += 1;
      console.log(`${tool.name} ${key}: ${error.message}`);
    }
  }
}
process.exit(problems ? 1 : 0);
