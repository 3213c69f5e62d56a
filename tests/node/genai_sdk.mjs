// Drives a Gemini API endpoint with the official Google GenAI JavaScript SDK (@google/genai),
// unchanged: what tests/python/genai_sdk.py does with the Python SDK.
//
// Usage: node genai_sdk.mjs BASE_URL MODEL_PREFIX [API_VERSION]
// BASE_URL is the origin: the SDK adds its API version (`/v1/...` by default in 3.x, or
// API_VERSION, e.g. `v1beta`, set as `httpOptions.apiVersion`). Without API_VERSION the client
// is made with the SDK's defaults: `apiKey` and `httpOptions.baseUrl` only.
// The SDK is imported from the package directory $OMNIROUTE_GENAI_JS (scripts/install-test-tools
// installs the pinned version there).
// Checks generateContent, generateContentStream (text, finish reason and usage on the last
// chunk), a function declaration answered by a functionCall plain and streamed, a function-calling
// round trip sent back by hand and one made by the SDK's automatic function calling (a
// CallableTool), models.list and models.get (a listed model, and an unknown one's 404), and a 429.
// Exits non-zero on the first mismatch; prints a JSON summary.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';

const MOCK_TEXT = 'Hello from the mock upstream!';
const MOCK_USAGE = [12, 6];
const TOOL_NAME = 'get_weather';
const TOOL_ARGS = { city: 'Paris' };
const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
// The mock's `agent-tool-loop` model (tests/src/mock_upstream/agent.rs): a call to the offered
// `Write` tool for the task the prompt's marker names, then, once a tool result came back, the
// final text.
const AGENT_MODEL = 'agent-tool-loop';
const AGENT_DONE_TEXT = 'The file is written, agent-tool-loop is done.';
const AGENT_FILE = '/tmp/omniroute-sdk/out.txt';
const AGENT_FILE_TEXT = 'hello-42';
const AGENT_PROMPT =
  `Use one of your tools to write exactly the text ${AGENT_FILE_TEXT} (no newline) into the file ${AGENT_FILE}, ` +
  `then say that you are done. [agent-task file=${AGENT_FILE} text=${AGENT_FILE_TEXT}]`;
const WRITE_ARGS = { file_path: AGENT_FILE, content: AGENT_FILE_TEXT };
const WRITE_DECLARATION = {
  name: 'Write',
  description: 'Writes content into the file at file_path.',
  parametersJsonSchema: {
    type: 'object',
    properties: { file_path: { type: 'string' }, content: { type: 'string' } },
    required: ['file_path', 'content'],
  },
};

/** Stops the script with `message` on the first mismatch. */
function check(condition, message) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    process.exit(1);
  }
}

const show = (value) => JSON.stringify(value);
const modelName = (prefix, name) => (prefix ? `${prefix}/${name}` : name);

/** The package's ESM entry for Node, read from its own `exports`. */
async function loadSdk() {
  const dir = process.env.OMNIROUTE_GENAI_JS;
  check(dir, 'OMNIROUTE_GENAI_JS (the @google/genai package directory) is not set; run scripts/install-test-tools');
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const entry = manifest.exports['.'].node.import;
  return { sdk: await import(pathToFileURL(join(dir, entry)).href), version: manifest.version };
}

function checkUsage(usage, what) {
  check(usage, `${what}: no usageMetadata`);
  const got = [usage.promptTokenCount, usage.candidatesTokenCount, usage.totalTokenCount];
  check(isDeepStrictEqual(got, [...MOCK_USAGE, MOCK_USAGE[0] + MOCK_USAGE[1]]), `${what} usage: ${show(usage)}`);
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function generateAndStream(ai, model, summary) {
  const response = await ai.models.generateContent({ model, contents: 'Say hello' });
  check(response.text === MOCK_TEXT, `text: ${show(response.text)}`);
  check(response.candidates[0].finishReason === 'STOP', `finish: ${show(response.candidates[0])}`);
  checkUsage(response.usageMetadata, 'generateContent');
  summary.generate = response.text;

  const chunks = await collect(await ai.models.generateContentStream({ model, contents: 'Say hello' }));
  const text = chunks.map((chunk) => chunk.text ?? '').join('');
  check(chunks.length >= 2, `stream chunks: ${chunks.length}`);
  check(text === MOCK_TEXT, `streamed text: ${show(text)}`);
  const last = chunks[chunks.length - 1];
  check(last.candidates[0].finishReason === 'STOP', `last chunk: ${show(last)}`);
  check(chunks.slice(0, -1).every((c) => c.candidates[0].finishReason == null), 'only the last chunk finishes');
  checkUsage(last.usageMetadata, 'last stream chunk');
  summary.stream = text;
  summary.stream_chunks = chunks.length;
}

async function functionCalls(ai, prefix, summary) {
  const config = {
    tools: [{ functionDeclarations: [{ name: TOOL_NAME, description: 'Current weather in a city', parametersJsonSchema: WEATHER_SCHEMA }] }],
  };
  const model = modelName(prefix, 'tools');
  const response = await ai.models.generateContent({ model, contents: 'Weather in Paris?', config });
  const calls = response.functionCalls ?? [];
  check(calls.length === 1, `function calls: ${show(response)}`);
  check(calls[0].name === TOOL_NAME && isDeepStrictEqual(calls[0].args, TOOL_ARGS), `function call: ${show(calls[0])}`);

  const chunks = await collect(await ai.models.generateContentStream({ model, contents: 'Weather?', config }));
  const streamed = chunks.flatMap((chunk) => chunk.functionCalls ?? []);
  check(streamed.length === 1, `streamed function calls: ${show(streamed)}`);
  check(streamed[0].name === TOOL_NAME && isDeepStrictEqual(streamed[0].args, TOOL_ARGS), `streamed call: ${show(streamed[0])}`);
  summary.tools = streamed[0].args;
}

/** The call's result sent back, by hand and by automatic function calling: the final text. */
async function roundTrips(ai, prefix, summary) {
  const model = modelName(prefix, AGENT_MODEL);
  const config = { tools: [{ functionDeclarations: [WRITE_DECLARATION] }] };
  const user = { role: 'user', parts: [{ text: AGENT_PROMPT }] };
  const first = await ai.models.generateContent({ model, contents: [user], config });
  const calls = first.functionCalls ?? [];
  check(calls.length === 1 && calls[0].name === 'Write', `round trip, first turn: ${show(first)}`);
  check(isDeepStrictEqual(calls[0].args, WRITE_ARGS), `round trip, call arguments: ${show(calls[0].args)}`);
  const result = { functionResponse: { name: 'Write', response: { output: 'written' }, ...(calls[0].id ? { id: calls[0].id } : {}) } };
  const contents = [user, first.candidates[0].content, { role: 'user', parts: [result] }];
  const second = await ai.models.generateContent({ model, contents, config });
  check(second.text === AGENT_DONE_TEXT, `round trip, second turn: ${show(second)}`);
  check(!second.functionCalls?.length, `round trip ends: ${show(second.functionCalls)}`);
  summary.round_trip = second.text;

  // A CallableTool: the SDK calls it and sends its parts back on its own.
  const writes = [];
  const write = {
    tool: async () => ({ functionDeclarations: [WRITE_DECLARATION] }),
    callTool: async (functionCalls) =>
      functionCalls.map((call) => {
        writes.push(call.args);
        return { functionResponse: { name: call.name, id: call.id, response: { output: 'written' } } };
      }),
  };
  const automatic = await ai.models.generateContent({ model, contents: AGENT_PROMPT, config: { tools: [write] } });
  check(automatic.text === AGENT_DONE_TEXT, `automatic function calling: ${show(automatic)}`);
  check(isDeepStrictEqual(writes, [WRITE_ARGS]), `writes: ${show(writes)}`);
  const history = automatic.automaticFunctionCallingHistory ?? [];
  check(history.length === 3, `automatic function calling history: ${show(history)}`);
  summary.automatic_round_trip = automatic.text;
}

/** models.list, models.get of a listed model, and an unknown model's 404. */
async function modelResources(sdk, ai, prefix, summary) {
  const names = [];
  for await (const model of await ai.models.list()) names.push(model.name);
  check(names.length > 0 && names.every((name) => name.startsWith('models/')), `models.list: ${show(names)}`);
  const got = await ai.models.get({ model: names[0] });
  check(got.name === names[0], `models.get(${names[0]}): ${show(got)}`);
  let error;
  try {
    await ai.models.get({ model: modelName(prefix, 'no-such-model') });
  } catch (err) {
    error = err;
  }
  check(error instanceof sdk.ApiError && error.status === 404, `an unknown model must raise a 404 ApiError: ${error}`);
  check(JSON.parse(error.message).error?.status === 'NOT_FOUND', `unknown model: ${error.message}`);
  summary.models = names.length;
}

async function upstream429(sdk, ai, prefix, summary) {
  let error;
  try {
    await ai.models.generateContent({ model: modelName(prefix, 'error-429'), contents: 'x' });
  } catch (err) {
    error = err;
  }
  check(error instanceof sdk.ApiError, `an upstream 429 must raise ApiError: ${error}`);
  check(error.status === 429, `status ${error.status}`);
  const body = JSON.parse(error.message);
  check(body.error?.code === 429 && body.error?.status === 'RESOURCE_EXHAUSTED', `error body ${error.message}`);
  summary.error = error.status;
}

async function main() {
  const argv = process.argv.slice(2);
  check(argv.length === 2 || argv.length === 3, 'usage: node genai_sdk.mjs BASE_URL MODEL_PREFIX [API_VERSION]');
  const [baseUrl, prefix, apiVersion] = argv;
  const { sdk, version } = await loadSdk();
  const httpOptions = apiVersion === undefined ? { baseUrl } : { baseUrl, apiVersion };
  const ai = new sdk.GoogleGenAI({ apiKey: 'sk-anything', httpOptions });
  const summary = { sdk: version, api_version: apiVersion ?? 'default' };

  await generateAndStream(ai, modelName(prefix, 'gpt-mock'), summary);
  await functionCalls(ai, prefix, summary);
  await roundTrips(ai, prefix, summary);
  await modelResources(sdk, ai, prefix, summary);
  await upstream429(sdk, ai, prefix, summary);
  console.log(JSON.stringify(summary));
}

await main();
