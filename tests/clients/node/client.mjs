// openai-node against posterchat's /v1: `node client.mjs BASE_URL MODEL` prints one JSON object of what came back.
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 30_000 });
const messages = [{ role: "user", content: "Weather in Oslo?" }];
const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];

const created = await client.chat.completions.create({ model, messages });

let streamed = "";
let usage = null;
const stream = await client.chat.completions.create({
  model, messages, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
  usage = chunk.usage ?? usage;
}

const toolCall = await client.chat.completions.create({ model, messages, tools });

// The SDK's stream helper joins the tool call's fragments into a final completion.
const toolStream = client.chat.completions.stream({ model, messages, tools });
const toolStreamed = await toolStream.finalChatCompletion();

console.log(JSON.stringify({
  created: { content: created.choices[0].message.content, model: created.model, usage: created.usage },
  streamed: { content: streamed, usage },
  tool_call: { finish_reason: toolCall.choices[0].finish_reason, calls: toolCall.choices[0].message.tool_calls },
  tool_stream: {
    finish_reason: toolStreamed.choices[0].finish_reason, calls: toolStreamed.choices[0].message.tool_calls,
  },
}));
