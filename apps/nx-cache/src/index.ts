export { createNxCacheHandler, startNxCacheServer, type NxCacheServer, type NxCacheServerOptions } from './server.js';
export { parseTokens, type Role, type TokenTable } from './tokens.js';
