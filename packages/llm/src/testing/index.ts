// @spendguard/llm/testing: a fake OpenAI- and Anthropic-compatible server for tests and demos.
export { FAKE_HEADERS, type FakeLlmServer, type FakeUsage, startFakeLlmServer } from './fake-llm-server.js';
