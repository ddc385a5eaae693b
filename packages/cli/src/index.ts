// @spendguard/cli: the library side of the `spendguard` command, for embedding in a service.
export { CONFIG_NAMES, ConfigError, findConfig, guardFromConfig, type LoadedConfig, loadConfig, type SpendGuardConfig } from './config.js';
export type { EventsPage, EventsQuery, FeedEvent } from './feed.js';
export { type StatusHandler, type StatusHandlerOptions, statusHandler } from './handler.js';
export { type MetricsOptions, type RegisteredMetrics, registerMetrics } from './metrics.js';
export { DEFAULT_HOST, DEFAULT_PORT, type RunningServer, type ServeOptions, startServer, UnsafeServeError } from './server.js';
